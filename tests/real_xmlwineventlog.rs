//! The real Windows XML event files in ../shared/data/windows/xmlwineventlog read without losing an event:
//! for every `.log` file, the events read plus the malformed ones reported equal the `<Event` starts counted
//! here independently; and cut or garbled events never panic and are each read or reported.

use spelunk::input::{self, Content, EventBuilder, ReadOptions, Source};
use spelunk::props::Knowledge;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

#[path = "common/shared.rs"]
mod shared;

fn log_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            log_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "log") {
            out.push(p);
        }
    }
}

/// Lines that start an `<Event>` element, counted on the bytes.
fn event_starts(data: &[u8]) -> u64 {
    data.split(|&c| c == b'\n')
        .filter(|l| {
            let l = l.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(l);
            l.starts_with(b"<Event ") || l.starts_with(b"<Event>")
        })
        .count() as u64
}

fn read(data: &[u8], name: &str) -> (Vec<spelunk::event::Event>, input::FileReport) {
    let knowledge = Knowledge::default();
    let opts = ReadOptions::default();
    let mut builder = EventBuilder::new(&knowledge, &opts);
    let source = Source {
        name: name.to_string(),
        content: Content::Embedded(""),
        sourcetype: None,
        source: None,
    };
    let mut events = Vec::new();
    let report = input::read_bytes(data, &source, &mut builder, &mut |ev| {
        events.push(ev);
        ControlFlow::Continue(())
    });
    (events, report)
}

#[test]
fn every_real_xml_event_is_read_or_reported() {
    let Some(dir) = shared::shared(
        "data/windows/xmlwineventlog/datasets",
        "reads the real Windows XML event files",
    ) else {
        return;
    };
    let mut files = Vec::new();
    log_files(&dir, &mut files);
    files.sort();
    let (mut total, mut xml_files) = (0, 0);
    for f in &files {
        let data = std::fs::read(f).unwrap();
        let starts = event_starts(&data);
        // files of XML events (a title line may come first); a file of classic text events that also holds
        // a few XML lines is not read as XML and is reported as malformed instead
        let first = data
            .split(|&c| c == b'\n')
            .find(|l| !l.trim_ascii().is_empty() && !l.starts_with(b"#"));
        if starts == 0 || !first.is_some_and(|l| l.starts_with(b"<Event")) {
            continue;
        }
        xml_files += 1;
        let (events, report) = read(&data, &f.to_string_lossy());
        // title lines (`#Bulk AD CS Events`) are reported too; they are not events
        let titles = data
            .split(|&c| c == b'\n')
            .filter(|l| l.starts_with(b"#"))
            .count() as u64;
        assert_eq!(
            report.events + report.bad_lines,
            starts + titles,
            "{}: {report:?}",
            f.display()
        );
        assert_eq!(report.events, starts, "{}: {report:?}", f.display());
        for ev in &events {
            assert_eq!(
                ev.get("sourcetype").map(|v| v.text().into_owned()),
                Some("XmlWinEventLog".to_string())
            );
            let channel = ev.get("Channel").map(|v| v.text().into_owned());
            assert_eq!(
                ev.get("source").map(|v| v.text().into_owned()),
                channel.map(|c| format!("XmlWinEventLog:{c}")),
                "{}",
                f.display()
            );
            let raw = ev.get("_raw").map(|v| v.text().into_owned()).unwrap();
            assert!(raw.starts_with("<Event") && raw.ends_with("</Event>"));
            assert!(ev.get("EventCode").is_some(), "{}: {raw}", f.display());
        }
        total += report.events;
    }
    assert!(xml_files >= 35, "only {xml_files} XML files");
    assert!(total >= 290, "only {total} events");
}

#[test]
fn cut_and_garbled_events_are_reported_not_panicked_on() {
    let Some(file) = shared::shared(
        "data/windows/xmlwineventlog/datasets/attack_techniques/T1202/atomic_red_team/windows-sysmon.log",
        "cuts and garbles real Windows XML events",
    ) else {
        return;
    };
    let data = std::fs::read(file).unwrap();
    let lines: Vec<&[u8]> = data
        .split(|&c| c == b'\n')
        .filter(|l| !l.is_empty())
        .take(4)
        .collect();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for line in lines {
        // every cut of the event: one malformed event (or, whole, one event)
        for n in (1..=line.len()).step_by(7).chain([line.len()]) {
            let (_, r) = read(&line[..n], "cut");
            assert_eq!(r.events + r.bad_lines, 1, "cut at {n}: {r:?}");
            assert_eq!(r.events, u64::from(n == line.len()), "cut at {n}");
        }
        // garbled: random bytes replaced; never a panic, and everything read is an event or reported
        for _ in 0..300 {
            let mut g = line.to_vec();
            for _ in 0..1 + next() % 4 {
                let at = (next() % g.len() as u64) as usize;
                g[at] = b"<>/'\"= &\n\xff"[(next() % 10) as usize];
            }
            let (_, r) = read(&g, "garbled");
            assert!(r.events + r.bad_lines >= 1, "{r:?}");
        }
        // two events with the first one cut: the second is still read
        let mut two = line[..line.len() / 2].to_vec();
        two.push(b'\n');
        two.extend_from_slice(line);
        let (evs, r) = read(&two, "two");
        assert_eq!((r.events, r.bad_lines, evs.len()), (1, 1, 1), "{r:?}");
        assert_eq!(r.first_bad.map(|b| b.0), Some(1));
    }
}
