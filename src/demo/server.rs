//! An HTTP/1.1 server that can be switched off and on again on the same port.
//!
//! "Down" must look like a crashed process from the outside: new connections
//! are refused (the listening socket is closed) and open keep-alive
//! connections are cut, so both clients and Prometheus's scrapes fail.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::runtime::Handle;
use tokio::sync::watch;

pub(crate) type ResponseFuture = Pin<Box<dyn Future<Output = Response<Full<Bytes>>> + Send>>;
pub(crate) type Handler = Arc<dyn Fn(Request<Incoming>) -> ResponseFuture + Send + Sync>;

pub(crate) struct SwitchableServer {
    addr: SocketAddr,
    handler: Handler,
    runtime: Handle,
    stop: Mutex<Option<watch::Sender<bool>>>,
}

impl SwitchableServer {
    /// Binds `addr` (port 0 picks a free port) and starts serving. Must be
    /// called within a tokio runtime, which keeps serving it.
    pub fn start(addr: SocketAddr, handler: Handler) -> io::Result<Self> {
        let listener = std::net::TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let server = SwitchableServer {
            addr,
            handler,
            runtime: Handle::current(),
            stop: Mutex::new(None),
        };
        server.serve(listener)?;
        Ok(server)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn is_up(&self) -> bool {
        self.lock().is_some()
    }

    /// Listens again on the same address. Idempotent.
    pub fn up(&self) -> io::Result<()> {
        if self.is_up() {
            return Ok(());
        }
        // std sets SO_REUSEADDR on Unix, so the port is free to bind again
        // even while connections cut by `down` sit in TIME_WAIT.
        let listener = std::net::TcpListener::bind(self.addr)?;
        self.serve(listener)
    }

    /// Closes the listening socket and every open connection. Idempotent.
    pub fn down(&self) {
        if let Some(stop) = self.lock().take() {
            let _ = stop.send(true);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<watch::Sender<bool>>> {
        // A poisoned lock only means another thread panicked while switching;
        // the Option inside is still meaningful.
        self.stop.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn serve(&self, listener: std::net::TcpListener) -> io::Result<()> {
        listener.set_nonblocking(true)?;
        let _guard = self.runtime.enter();
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let (stop_tx, stop_rx) = watch::channel(false);
        *self.lock() = Some(stop_tx);
        let handler = self.handler.clone();
        self.runtime.spawn(accept_loop(listener, handler, stop_rx));
        Ok(())
    }
}

impl Drop for SwitchableServer {
    fn drop(&mut self) {
        self.down();
    }
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    handler: Handler,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.changed() => return,
        };
        let Ok((stream, _peer)) = accepted else {
            // EMFILE and friends: back off briefly rather than spin.
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let handler = handler.clone();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let response = handler(request);
                async move { Ok::<_, Infallible>(response.await) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = connection => {}
                // Dropping the connection closes the socket mid-flight, as a
                // crash would.
                _ = stop.changed() => {}
            }
        });
    }
}
