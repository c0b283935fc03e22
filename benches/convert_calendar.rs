//! vCalendar 1.0 -> iCalendar (and back) over a few thousand realistic phone items.
//! Run: `cargo bench --bench convert_calendar`. Prints items per second on one core.

use std::hint::black_box;
use std::time::Instant;

use chrono::{TimeZone, Utc};
use syncml_bridge::convert::{vcal, ConvertOptions};

fn corpus(n: usize) -> Vec<Vec<u8>> {
    let rules = [
        "",
        "RRULE:W1 MO TH #0\r\n",
        "RRULE:D1 #10\r\n",
        "RRULE:MP1 1+ MO #0\r\n",
        "RRULE:YM1 #0\r\n",
    ];
    (0..n)
        .map(|i| {
            let day = i % 28 + 1;
            let hour = 8 + i % 10;
            let tz = if i % 3 == 0 {
                "TZ:+01\r\nDAYLIGHT:TRUE;+02;20110327T010000Z;20111030T010000Z;CET;CEST\r\n"
            } else {
                ""
            };
            format!(
                "BEGIN:VCALENDAR\r\nVERSION:1.0\r\n{tz}BEGIN:VEVENT\r\nSUMMARY;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Besprechung Nr. {i} =C3=BCber Pl=C3=A4ne\r\nDESCRIPTION;ENCODING=QUOTED-PRINTABLE:Zeile eins=0D=0AZeile zwei\r\nLOCATION:Raum {i}\r\nDTSTART:201106{day:02}T{hour:02}0000\r\nDTEND:201106{day:02}T{hour:02}3000\r\n{}AALARM:201106{day:02}T{:02}4500;;0;\r\nCATEGORIES:BUSINESS;MEETING\r\nCLASS:PUBLIC\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
                rules[i % rules.len()],
                hour - 1
            )
            .into_bytes()
        })
        .collect()
}

fn main() {
    let now = Utc
        .with_ymd_and_hms(2011, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default();
    let opts = ConvertOptions::new(now).with_device_tz(chrono_tz::Europe::Berlin);
    let items = corpus(5000);
    for round in 0..3 {
        let t = Instant::now();
        let mut dav = Vec::with_capacity(items.len());
        for it in &items {
            if let Ok(c) = vcal::to_dav(black_box(it), &opts) {
                dav.push(c);
            }
        }
        let secs = t.elapsed().as_secs_f64();
        let t2 = Instant::now();
        let mut back = 0usize;
        for c in &dav {
            back += vcal::from_dav(black_box(c), &opts).map_or(0, |b| b.len());
        }
        let secs2 = t2.elapsed().as_secs_f64();
        println!(
            "round {round}: vcal10->ical20 {:.0} items/s ({} ok), ical20->vcal10 {:.0} items/s ({back} bytes)",
            items.len() as f64 / secs,
            dav.len(),
            dav.len() as f64 / secs2
        );
    }
}
