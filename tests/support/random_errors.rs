//! The stand-in service with random errors (`examples/random_errors`),
//! served in-process on its own thread and runtime, stopped when dropped.

#[path = "../../examples/random_errors/target.rs"]
mod target;

pub use target::RandomErrors;

pub struct RandomTarget {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl RandomTarget {
    pub fn start(config: RandomErrors) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let url = format!("http://{}", listener.local_addr().expect("its address"));
        let (stop, stopped) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime for the stand-in");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                tokio::select! {
                    _ = target::serve(listener, config) => {}
                    _ = stopped => {}
                }
            });
        });
        RandomTarget {
            url,
            stop: Some(stop),
        }
    }
}

impl Drop for RandomTarget {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
