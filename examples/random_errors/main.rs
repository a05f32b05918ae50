//! A stand-in service with random errors, as a process: the target of the
//! noise benchmark (`scripts/bench-noise`). Prints its address, then serves
//! until killed.
//!
//!     cargo run --release --example random_errors -- [ERROR_RATIO] [SEED] [PORT]
//!     cargo run --release --example random_errors -- 0.02 7 0

mod target;

fn main() {
    let mut args = std::env::args().skip(1);
    let mut next = |default: &str| args.next().unwrap_or_else(|| default.to_string());
    let error_ratio: f64 = next("0.02")
        .parse()
        .expect("ERROR_RATIO: a number, 0.02 for 2%");
    let seed: u64 = next("7").parse().expect("SEED: a whole number");
    let port: u16 = next("0")
        .parse()
        .expect("PORT: a port number (0: any free one)");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("its address");
        println!("http://{addr}");
        target::serve(listener, target::RandomErrors { error_ratio, seed }).await;
    });
}
