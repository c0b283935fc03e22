//! vCard 2.1 -> DAV vCard 3.0 (and back, and the merge) over a few thousand realistic
//! phone contacts. Run: `cargo bench --bench convert`. Prints items per second of wall
//! time and of this thread's CPU time (`/proc/thread-self/schedstat`, Linux), which is the
//! per-core figure on a machine shared with other work.

use std::hint::black_box;
use std::time::Instant;

use syncml_bridge::convert::capability::Capability;
use syncml_bridge::convert::merge::merge;
use syncml_bridge::convert::{vcard, ConvertOptions, Format};

fn corpus(n: usize) -> Vec<Vec<u8>> {
    const FIRST: &[&str] = &["Hans", "Jörg", "Anna", "François", "Zoë", "Li", "Søren"];
    const LAST: &[&str] = &["Müller", "Meier", "Dupont", "Smith", "Øberg", "Nguyen"];
    (0..n)
        .map(|i| {
            let first = FIRST[i % FIRST.len()];
            let last = LAST[i % LAST.len()];
            let mut s = String::with_capacity(600);
            s.push_str("BEGIN:VCARD\r\nVERSION:2.1\r\n");
            if i % 2 == 0 {
                let qp = |t: &str| -> String {
                    t.bytes()
                        .map(|b| {
                            if b.is_ascii_alphanumeric() || b == b' ' {
                                (b as char).to_string()
                            } else {
                                format!("={b:02X}")
                            }
                        })
                        .collect()
                };
                s.push_str(&format!(
                    "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:{};{};;;\r\nFN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:{} {}\r\n",
                    qp(last), qp(first), qp(first), qp(last)
                ));
            } else {
                s.push_str(&format!("N:{last};{first};;;\r\nFN:{first} {last}\r\n"));
            }
            s.push_str(&format!(
                "TEL;CELL:+4179{i:07}\r\nTEL;HOME;VOICE:+4144{i:07}\r\nTEL;WORK;FAX:+4143{i:07}\r\nEMAIL;INTERNET:user{i}@example.com\r\n"
            ));
            if i % 3 == 0 {
                s.push_str("ADR;HOME:;;Bahnhofstr. 1;Zurich;;8001;Switzerland\r\nORG:Example AG;Sales\r\nTITLE:Manager\r\n");
            }
            if i % 4 == 0 {
                s.push_str("NOTE;ENCODING=QUOTED-PRINTABLE:first line=0D=0Asecond line with a soft =\r\nbreak\r\nBDAY:19700131\r\n");
            }
            if i % 10 == 0 {
                s.push_str("PHOTO;ENCODING=BASE64;TYPE=JPEG:\r\n /9j/4AAQSkZJRgABAQEASABIAAD/2wBDAAYEBQYFBAYGBQYHBwYIChAKCgkJChQODwwQ\r\n AAAAAAAAAAA//9k=\r\n\r\n");
            }
            s.push_str("X-EPOCSECONDNAME:Nick\r\nEND:VCARD\r\n");
            s.into_bytes()
        })
        .collect()
}

/// CPU time of this thread in seconds, when the kernel tells.
fn cpu_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns / 1e9)
}

struct Clock {
    wall: Instant,
    cpu: Option<f64>,
}

fn start() -> Clock {
    Clock {
        wall: Instant::now(),
        cpu: cpu_seconds(),
    }
}

fn rate(label: &str, n: usize, t: Clock) {
    let wall = t.wall.elapsed().as_secs_f64();
    let cpu = t.cpu.zip(cpu_seconds()).map(|(a, b)| b - a);
    let per_cpu = cpu.map_or("n/a".to_owned(), |c| format!("{:.0}", n as f64 / c));
    println!(
        "{label:<30} {n} items: {:.0} items/s wall, {per_cpu} items/s per CPU-second",
        n as f64 / wall
    );
}

fn main() {
    let opts = ConvertOptions::new(chrono::DateTime::UNIX_EPOCH);
    let items = corpus(5000);
    let bytes: usize = items.iter().map(Vec::len).sum();
    println!("corpus: {} vCard 2.1 items, {} bytes", items.len(), bytes);
    let cap = Capability::from_format(Format::Vcard21);
    for round in 0..3 {
        println!("round {round}");
        let t = start();
        let dav: Vec<_> = items
            .iter()
            .filter_map(|it| vcard::to_dav(black_box(it), Format::Vcard21, &opts).ok())
            .collect();
        rate("vCard 2.1 -> DAV vCard 3.0", dav.len(), t);

        let t = start();
        let mut out_bytes = 0;
        for c in &dav {
            if let Ok(b) = vcard::from_dav(black_box(c), Format::Vcard21, &opts) {
                out_bytes += b.len();
            }
        }
        rate("DAV vCard 3.0 -> vCard 2.1", dav.len(), t);
        black_box(out_bytes);

        let t = start();
        let mut n = 0;
        for c in &dav {
            if merge(black_box(c), c, &cap).is_ok() {
                n += 1;
            }
        }
        rate("merge (phone item into DAV)", n, t);
    }
}
