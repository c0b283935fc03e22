//! A TCP relay between the bridge and a real upstream that can cut the line, for outage
//! tests.

/// A TCP relay in front of the real Radicale that can cut the line: while it is down, new
/// connections are closed at once and open ones are dropped. It can also hold every
/// request for a while before passing it on (a slow upstream).
pub struct Relay {
    pub port: u16,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    delay_ms: std::sync::Arc<std::sync::atomic::AtomicU64>,
    hooks: Hooks,
    losses: Losses,
}

/// Work run once, just before the first request with a given request line start
/// (`PUT /alice/contacts/x.vcf`) is passed on: another client acting upstream between
/// the bridge's read and its write.
type Hooks = std::sync::Arc<std::sync::Mutex<Vec<(String, Box<dyn FnOnce() + Send>)>>>;

/// Byte strings whose first request chunk toward the target is lost: the chunk is not
/// passed on and the connection is dropped both ways (a message lost on the way).
type Losses = std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>;

/// Whether `chunk` holds one of the armed byte strings (that one is disarmed).
fn take_loss(losses: &Losses, chunk: &[u8]) -> bool {
    let mut all = losses.lock().unwrap_or_else(|p| p.into_inner());
    let at = all.iter().position(|needle| {
        !needle.is_empty() && chunk.windows(needle.len()).any(|w| w == needle.as_slice())
    });
    at.map(|i| all.remove(i)).is_some()
}

/// Runs (and drops) the hook whose request line start `chunk` begins with.
fn run_hook(hooks: &Hooks, chunk: &[u8]) {
    let found = {
        let mut all = hooks.lock().unwrap_or_else(|p| p.into_inner());
        let at = all.iter().position(|(start, _)| {
            chunk.starts_with(start.as_bytes()) && chunk.get(start.len()) == Some(&b' ')
        });
        at.map(|i| all.remove(i).1)
    };
    if let Some(hook) = found {
        hook();
    }
}

/// Whether a chunk from the client starts an HTTP request (`METHOD /path HTTP/1.1`).
fn starts_request(chunk: &[u8]) -> bool {
    let line = chunk.split(|b| *b == b'\n').next().unwrap_or_default();
    let method_len = line.iter().take_while(|b| b.is_ascii_uppercase()).count();
    method_len > 0 && line.get(method_len) == Some(&b' ') && line.windows(5).any(|w| w == b"HTTP/")
}

impl Relay {
    pub fn start(target_port: u16) -> Relay {
        use std::io::{Read, Write};
        use std::net::{TcpListener, TcpStream};
        use std::sync::atomic::Ordering;
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the relay");
        let port = listener.local_addr().expect("relay address").port();
        let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let flag = up.clone();
        let delay_ms = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let delay = delay_ms.clone();
        let hooks: Hooks = Default::default();
        let armed = hooks.clone();
        let losses: Losses = Default::default();
        let lost = losses.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if !flag.load(Ordering::SeqCst) {
                    continue;
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", target_port)) else {
                    continue;
                };
                for (toward_server, (mut from, mut to)) in [
                    (client.try_clone(), server.try_clone()),
                    (server.try_clone(), client.try_clone()),
                ]
                .into_iter()
                .filter_map(|(a, b)| Some((a.ok()?, b.ok()?)))
                .enumerate()
                .map(|(i, pair)| (i == 0, pair))
                {
                    let flag = flag.clone();
                    let delay = delay.clone();
                    let armed = armed.clone();
                    let lost = lost.clone();
                    let _ = from.set_read_timeout(Some(std::time::Duration::from_millis(100)));
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 16384];
                        loop {
                            if !flag.load(Ordering::SeqCst) {
                                break;
                            }
                            match from.read(&mut buf) {
                                Ok(0) => break,
                                Ok(n) => {
                                    let hold = delay.load(Ordering::SeqCst);
                                    if toward_server && hold > 0 && starts_request(&buf[..n]) {
                                        std::thread::sleep(std::time::Duration::from_millis(hold));
                                    }
                                    if toward_server && starts_request(&buf[..n]) {
                                        run_hook(&armed, &buf[..n]);
                                    }
                                    if toward_server && take_loss(&lost, &buf[..n]) {
                                        break;
                                    }
                                    if to.write_all(&buf[..n]).is_err() {
                                        break;
                                    }
                                }
                                Err(e)
                                    if matches!(
                                        e.kind(),
                                        std::io::ErrorKind::WouldBlock
                                            | std::io::ErrorKind::TimedOut
                                    ) => {}
                                Err(_) => break,
                            }
                        }
                        let _ = from.shutdown(std::net::Shutdown::Both);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        Relay {
            port,
            up,
            delay_ms,
            hooks,
            losses,
        }
    }

    /// Loses the first request (or request chunk) that holds `needle`: the target gets at
    /// most its head, never the whole request, and the client's connection is dropped
    /// without an answer.
    pub fn lose_first_containing(&self, needle: &str) {
        self.losses
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(needle.as_bytes().to_vec());
    }

    /// Runs `hook` once, just before the first `method` request for `path` (as the bridge
    /// spells it, e.g. `/alice/contacts/x.vcf`) is passed on.
    pub fn before_first(&self, method: &str, path: &str, hook: impl FnOnce() + Send + 'static) {
        self.hooks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((format!("{method} {path}"), Box::new(hook)));
    }

    /// Holds every request for `delay` before passing it on.
    pub fn set_delay(&self, delay: std::time::Duration) {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.delay_ms.store(ms, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn set_up(&self, up: bool) {
        self.up.store(up, std::sync::atomic::Ordering::SeqCst);
        // Let the copying threads notice.
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
}

/// A bridge whose upstream is `radicale` behind a relay that can cut the line.
pub fn bridge_behind_relay(radicale: &super::radicale::Radicale) -> (Relay, super::bridge::Bridge) {
    bridge_behind_relay_with(radicale, |b| b)
}

/// The same, with settings added by `configure`.
pub fn bridge_behind_relay_with(
    radicale: &super::radicale::Radicale,
    configure: impl FnOnce(super::bridge::BridgeBuilder) -> super::bridge::BridgeBuilder,
) -> (Relay, super::bridge::Bridge) {
    let relay = Relay::start(radicale.port());
    let builder = super::bridge::Bridge::builder(&radicale.base_url())
        .upstream(&format!("http://127.0.0.1:{}/", relay.port));
    let bridge = configure(builder).start();
    (relay, bridge)
}
