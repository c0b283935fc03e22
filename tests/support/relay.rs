//! A TCP relay between the bridge and a real upstream that can cut the line, for outage
//! tests.

/// A TCP relay in front of the real Radicale that can cut the line: while it is down, new
/// connections are closed at once and open ones are dropped.
pub struct Relay {
    pub port: u16,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
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
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if !flag.load(Ordering::SeqCst) {
                    continue;
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", target_port)) else {
                    continue;
                };
                for (mut from, mut to) in [
                    (client.try_clone(), server.try_clone()),
                    (server.try_clone(), client.try_clone()),
                ]
                .into_iter()
                .filter_map(|(a, b)| Some((a.ok()?, b.ok()?)))
                {
                    let flag = flag.clone();
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
        Relay { port, up }
    }

    pub fn set_up(&self, up: bool) {
        self.up.store(up, std::sync::atomic::Ordering::SeqCst);
        // Let the copying threads notice.
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
}

/// A bridge whose upstream is `radicale` behind a relay that can cut the line.
pub fn bridge_behind_relay(radicale: &super::radicale::Radicale) -> (Relay, super::bridge::Bridge) {
    let relay = Relay::start(radicale.port());
    let bridge = super::bridge::Bridge::builder(&radicale.base_url())
        .upstream(&format!("http://127.0.0.1:{}/", relay.port))
        .start();
    (relay, bridge)
}
