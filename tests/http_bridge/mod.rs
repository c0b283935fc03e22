//! Runs the bridge's HTTP front door on 127.0.0.1 in its own runtime thread, so tests can
//! drive it with blocking clients; stopped (gracefully, bounded) when dropped.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use syncml_bridge::config::Config;
use syncml_bridge::http::{serve_listener, HttpError, HttpSettings, SyncmlHandler};
use tokio::sync::oneshot;

/// Settings for a test bridge in front of `upstream` (small limits, short waits).
pub fn settings(upstream: &str) -> HttpSettings {
    let mut config = Config::default();
    config.upstream.url = upstream.to_owned();
    let mut settings = HttpSettings::from_config(&config).expect("test settings are valid");
    settings.max_body_bytes = 1024;
    settings.request_timeout = Duration::from_secs(2);
    settings.header_read_timeout = Duration::from_secs(2);
    settings.shutdown_grace = Duration::from_secs(5);
    settings.upstream_connect_timeout = Duration::from_secs(2);
    settings.upstream_timeout = Duration::from_secs(10);
    settings
}

/// An upstream URL on which nothing listens.
pub fn dead_upstream() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a port");
    let port = listener.local_addr().expect("local addr").port();
    drop(listener);
    format!("http://127.0.0.1:{port}/")
}

pub struct Bridge {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<Result<(), HttpError>>>,
}

impl Bridge {
    pub fn start<H: SyncmlHandler>(settings: HttpSettings, handler: Arc<H>) -> Bridge {
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter("syncml_bridge=debug")
            .try_init();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("local addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("tokio runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                serve_listener(listener, settings, handler, async {
                    let _ = stopped.await;
                })
                .await
            })
        });
        Bridge {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url())
    }

    /// Signals shutdown without waiting.
    pub fn signal_stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Signals shutdown and waits for the server to return.
    pub fn stop(mut self) -> Result<(), HttpError> {
        self.signal_stop();
        match self.thread.take() {
            Some(thread) => thread.join().expect("server thread panicked"),
            None => Ok(()),
        }
    }

    /// Whether the server has returned.
    pub fn finished(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        self.signal_stop();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A blocking client that never follows redirects and never uses a proxy.
pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(Duration::from_secs(300))
        .build()
        .expect("blocking client")
}
