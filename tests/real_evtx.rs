//! The real EVTX files in ../shared/data/windows/evtx: every file gives the events (and the events per
//! EventID) that its SOURCES.md counts; a file read in parts on several cores gives the same events as
//! read whole; records read + records reported bad = the records in the file; a damaged chunk is
//! reported by number and the rest is read; hostile files built from a real file never panic.

use spelunk::event::Event;
use spelunk::input::{self, Content, EventBuilder, FileReport, ReadOptions, Source};
use spelunk::props::Knowledge;
use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

#[path = "common/shared.rs"]
mod shared;

const PROCDUMP_SYSMON: &str =
    "data/windows/evtx/attack_range/T1003.001_procdump/Microsoft-Windows-Sysmon%4Operational.evtx";

fn source(path: &Path) -> Source {
    Source {
        name: path.to_string_lossy().into_owned(),
        content: Content::File(path.to_path_buf()),
        sourcetype: None,
        source: None,
    }
}

fn read(path: &Path) -> (Vec<Event>, FileReport) {
    let knowledge = Knowledge::default();
    let opts = ReadOptions::default();
    let mut builder = EventBuilder::new(&knowledge, &opts);
    let mut events = Vec::new();
    let report = input::read_source(&source(path), &mut builder, &mut |ev| {
        events.push(ev);
        ControlFlow::Continue(())
    });
    (events, report)
}

/// Read in units of `bytes` (groups of chunks), as the reading threads do, merging the reports.
fn read_units(path: &Path, bytes: u64) -> (Vec<Event>, FileReport, usize) {
    let knowledge = Knowledge::default();
    let opts = ReadOptions::default();
    let sources = vec![source(path)];
    let units = input::units(&sources, bytes);
    let mut events = Vec::new();
    let mut report = FileReport {
        source: sources[0].name.clone(),
        ..FileReport::default()
    };
    for u in &units {
        let mut builder = EventBuilder::new(&knowledge, &opts);
        let part = input::read_unit(&sources[0], u, &mut builder, &mut |ev| {
            events.push(ev);
            ControlFlow::Continue(())
        });
        report.merge(&part);
    }
    (events, report, units.len())
}

fn text(ev: &Event, f: &str) -> String {
    ev.get(f).map(|v| v.text().into_owned()).unwrap_or_default()
}

/// (file path under evtx/, events, {EventID: count}) from a SOURCES.md table.
fn sources_md(dir: &Path) -> Vec<(String, u64, BTreeMap<String, u64>)> {
    let md = std::fs::read_to_string(dir.join("SOURCES.md")).unwrap();
    let header: Vec<&str> = md
        .lines()
        .find(|l| l.starts_with("| file"))
        .unwrap()
        .split('|')
        .map(str::trim)
        .collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name || h.starts_with(&format!("{name} (")))
            .unwrap()
    };
    let (c_file, c_events, c_ids) = (col("file") - 1, col("events") - 1, col("EventIDs") - 1);
    let mut out = Vec::new();
    for line in md.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
        let file = cells[c_file].trim_matches('`').to_string();
        if !file.ends_with(".evtx") {
            continue;
        }
        let events: u64 = cells[c_events]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let ids = cells[c_ids]
            .split(", ")
            .filter_map(|p| {
                let (k, n) = p.rsplit_once('=')?;
                Some((k.rsplit(':').next()?.to_string(), n.parse().ok()?))
            })
            .collect();
        out.push((file, events, ids));
    }
    out
}

#[test]
fn every_file_gives_the_counted_events() {
    let Some(root) = shared::shared("data/windows/evtx", "reads the real EVTX files") else {
        return;
    };
    let mut files = 0;
    let dq = regex::Regex::new(r#"<[A-Za-z]+( [A-Za-z]+='[^']*')* [A-Za-z]+=""#).unwrap();
    for group in ["attack_range", "omerbenamram_evtx", "evtx_attack_samples"] {
        for (file, count, ids) in sources_md(&root.join(group)) {
            // attack_range's table names files with their group folder, the others without
            let path = [root.join(&file), root.join(group).join(&file)]
                .into_iter()
                .find(|p| p.exists())
                .unwrap_or_else(|| panic!("{file} named in {group}/SOURCES.md is absent"));
            let (events, report) = read(&path);
            assert_eq!(report.events, count, "{file}: {report:?}");
            assert_eq!(events.len() as u64, count, "{file}");
            let mut by_id: BTreeMap<String, u64> = BTreeMap::new();
            for ev in &events {
                *by_id.entry(text(ev, "EventCode")).or_default() += 1;
                assert_eq!(text(ev, "sourcetype"), "XmlWinEventLog");
                assert_eq!(
                    text(ev, "source"),
                    format!("XmlWinEventLog:{}", text(ev, "Channel"))
                );
                let raw = text(ev, "_raw");
                assert!(
                    raw.starts_with(
                        "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='"
                    ),
                    "{file}: {raw}"
                );
                assert!(!dq.is_match(&raw), "{file}: double quotes in {raw}");
                assert!(!raw.contains("<?xml"), "{file}");
            }
            assert_eq!(by_id, ids, "{file}");
            if file.ends_with("omerbenamram_evtx/sysmon.evtx") || file == "sysmon.evtx" {
                let chunks: Vec<u64> = report.bad_chunks.iter().map(|c| c.0).collect();
                assert_eq!(chunks, (9..=16).collect::<Vec<_>>(), "{report:?}");
                assert!(report.problem().unwrap().contains("chunk 9:"));
            } else {
                assert_eq!(report.bad_lines, 0, "{file}: {report:?}");
                assert!(report.bad_chunks.is_empty(), "{file}: {report:?}");
                assert_eq!(report.problem(), None, "{file}");
            }
            files += 1;
        }
    }
    assert_eq!(files, 21);
}

#[test]
fn read_in_parts_gives_the_same_events() {
    let Some(path) = shared::shared(
        "data/windows/evtx/attack_range/T1562.001_pwsh_dism/Microsoft-Windows-Sysmon%4Operational.evtx",
        "reads a real EVTX file in parts",
    ) else {
        return;
    };
    let (whole, report) = read(&path);
    let (parts, part_report, units) = read_units(&path, 3 * 65536);
    assert_eq!(units, 17, "49 chunks in groups of 3");
    assert_eq!(report.events, 1788);
    assert_eq!(part_report.events, 1788);
    assert_eq!(part_report.lines, report.lines);
    let raws = |evs: &[Event]| evs.iter().map(|e| text(e, "_raw")).collect::<Vec<_>>();
    assert_eq!(raws(&whole), raws(&parts));

    // the damaged chunks of sysmon.evtx are reported by their number in the file, whichever part
    let Some(damaged) = shared::shared(
        "data/windows/evtx/omerbenamram_evtx/sysmon.evtx",
        "reads a damaged EVTX file in parts",
    ) else {
        return;
    };
    let (evs, r, _) = read_units(&damaged, 2 * 65536);
    assert_eq!(evs.len(), 358);
    let chunks: Vec<u64> = r.bad_chunks.iter().map(|c| c.0).collect();
    assert_eq!(chunks, (9..=16).collect::<Vec<_>>());
}

/// One Sysmon process creation (EventRecordID 40892319), field by field from its EVTX record as
/// `evtx_dump` shows it: the values are the record's, the form is the forwarder's.
#[test]
fn a_sysmon_event_field_by_field() {
    let Some(path) = shared::shared(PROCDUMP_SYSMON, "reads a real Sysmon EVTX file") else {
        return;
    };
    let (events, _) = read(&path);
    let ev = events
        .iter()
        .find(|e| text(e, "EventRecordID") == "40892319")
        .unwrap();
    let want = [
        ("EventCode", "1"),
        ("EventID", "1"),
        ("RecordNumber", "40892319"),
        ("Channel", "Microsoft-Windows-Sysmon/Operational"),
        (
            "source",
            "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational",
        ),
        ("host", "win-host-mhaag-attack-range-117"),
        ("Computer", "win-host-mhaag-attack-range-117"),
        // the add-on's attribute extraction keeps the quotes
        ("Guid", "'{5770385F-C22A-43E0-BF4C-06F5698FFBD9}'"),
        ("SystemTime", "'2022-08-31T19:18:42.174708900Z'"),
        ("ProcessID", "'4704'"),
        ("UserID", "'S-1-5-18'"),
        ("Keywords", "0x8000000000000000"),
        ("Level", "4"),
        ("Task", "1"),
        ("Version", "5"),
        ("ProcessGuid", "{C2494F38-B412-630F-666B-000000006A02}"),
        ("Image", "C:\\Windows\\sysmon64.exe"),
        (
            "CommandLine",
            "\"C:\\Windows\\sysmon64.exe\" -z syscliprpcE53908063DB4B21F",
        ),
        ("CurrentDirectory", "C:\\Windows\\system32\\"),
        ("LogonId", "0xe7a0c"),
        ("ParentUser", "NT AUTHORITY\\SYSTEM"),
    ];
    for (f, v) in want {
        assert_eq!(text(ev, f), v, "{f}");
    }
    let t = ev.get("_time").and_then(|v| v.as_num()).unwrap();
    assert!((t - 1661973522.1747089).abs() < 1e-6, "{t}");
    assert!(text(ev, "_raw").contains(
        "<Data Name='CommandLine'>\"C:\\Windows\\sysmon64.exe\" -z syscliprpcE53908063DB4B21F</Data>"
    ));
}

fn write(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p
}

/// Records in a real file (the chunk headers' record ranges) stay accounted for whatever is broken.
#[test]
fn hostile_files_never_panic_and_lose_nothing_silently() {
    let Some(path) = shared::shared(PROCDUMP_SYSMON, "builds hostile EVTX files") else {
        return;
    };
    let real = std::fs::read(&path).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let chunk = |n: usize| 4096 + n * 65536;
    // records per chunk, from the chunk headers (first and last record IDs)
    let per_chunk = |n: usize| {
        let h = &real[chunk(n)..chunk(n) + 24];
        let id = |o: usize| u64::from_le_bytes(h[o..o + 8].try_into().unwrap());
        id(16) - id(8) + 1
    };
    assert_eq!(per_chunk(0), 54);
    assert_eq!(per_chunk(1), 47);

    // truncated in the middle of chunk 2: chunks 0 and 1 read, chunk 2 reported
    let p = write(dir.path(), "cut.evtx", &real[..chunk(2) + 1000]);
    let (evs, r) = read(&p);
    assert_eq!(evs.len() as u64, per_chunk(0) + per_chunk(1));
    assert_eq!(r.bad_chunks.len(), 1);
    assert_eq!(r.bad_chunks[0].0, 2);
    assert!(r.bad_chunks[0].1.contains("truncated"), "{r:?}");

    // truncated inside the file header
    let p = write(dir.path(), "head.evtx", &real[..100]);
    let (evs, r) = read(&p);
    assert!(evs.is_empty());
    assert!(r.error.as_deref().unwrap().contains("truncated"), "{r:?}");

    // chunk 1's header magic overwritten: reported, the other chunks read
    let mut bad = real.clone();
    bad[chunk(1)..chunk(1) + 8].copy_from_slice(b"XXXXXXXX");
    let p = write(dir.path(), "badchunk.evtx", &bad);
    let (evs, r) = read(&p);
    assert_eq!(evs.len() as u64, 429 - per_chunk(1));
    assert_eq!(
        r.bad_chunks.iter().map(|c| c.0).collect::<Vec<_>>(),
        vec![1]
    );
    assert!(r.problem().unwrap().contains("damaged chunk"));

    // chunk 1 zeroed: live chunks follow, so it is a lost chunk, reported
    let mut zero = real.clone();
    zero[chunk(1)..chunk(2)].fill(0);
    let p = write(dir.path(), "zero.evtx", &zero);
    let (evs, r) = read(&p);
    assert_eq!(evs.len() as u64, 429 - per_chunk(1));
    assert_eq!(
        r.bad_chunks.iter().map(|c| c.0).collect::<Vec<_>>(),
        vec![1]
    );
    // and the same read in parts
    let (evs, r, _) = read_units(&p, 65536);
    assert_eq!(evs.len() as u64, 429 - per_chunk(1));
    assert_eq!(
        r.bad_chunks.iter().map(|c| c.0).collect::<Vec<_>>(),
        vec![1]
    );

    // the first record claims to be 2 GiB long: it is bad, the others of its chunk are read
    let mut huge = real.clone();
    let rec = chunk(0) + 512;
    assert_eq!(&huge[rec..rec + 4], b"\x2a\x2a\x00\x00");
    huge[rec + 4..rec + 8].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    let p = write(dir.path(), "huge.evtx", &huge);
    let (evs, r) = read(&p);
    assert!(evs.len() as u64 >= 429 - per_chunk(0), "{r:?}");
    assert_eq!(r.events + r.bad_lines, 429, "{r:?}");
    assert!(r.bad_lines >= 1);
    assert!(r.problem().unwrap().contains("malformed record"), "{r:?}");

    // garbage across a chunk's records: every record is read or counted bad
    let mut noise = real.clone();
    let mut x: u32 = 12345;
    for b in &mut noise[chunk(0) + 512..chunk(0) + 30000] {
        x = x.wrapping_mul(1103515245).wrapping_add(12345);
        *b = (x >> 16) as u8;
    }
    let p = write(dir.path(), "noise.evtx", &noise);
    let (_, r) = read(&p);
    assert!(r.events + r.bad_lines >= 429 - per_chunk(0), "{r:?}");

    // not an EVTX file, named like one
    let p = write(dir.path(), "fake.evtx", b"{\"a\": 1}\n");
    let (evs, r) = read(&p);
    assert!(evs.is_empty());
    assert!(
        r.error.as_deref().unwrap().contains("not an EVTX file"),
        "{r:?}"
    );
}

#[test]
fn a_folder_read_picks_up_evtx_files() {
    assert!(input::is_event_file_name("Security.evtx"));
    assert!(input::is_event_file_name("x.EVTX"));
}

/// A published detection's macro over a folder of EVTX files (folders with dots in their names,
/// files with `%4` in theirs): Sysmon EventID 1 = 26 + 23 + 23 in attack_range's SOURCES.md, plus
/// 227 in sysmon.evtx and 1 + 2 + 2 in evtx_attack_samples.
#[test]
fn the_sysmon_macro_counts_process_creations() {
    let (Some(content), Some(data)) = (
        shared::shared("security_content", "runs the sysmon macro"),
        shared::shared("data/windows/evtx", "runs the sysmon macro over EVTX files"),
    ) else {
        return;
    };
    for (dir, want) in [("attack_range", "72"), ("", "304")] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_spelunk"))
            .args(["run", "--format", "csv", "--content"])
            .arg(&content)
            .arg("--data")
            .arg(data.join(dir))
            .arg("`sysmon` EventCode=1 | stats count")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            stdout,
            format!("count\n{want}\n"),
            "{dir}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Every `.evtx` file under ../shared/data/windows/evtx, sorted (`None`: the folder is absent).
fn real_evtx_files() -> Option<Vec<PathBuf>> {
    let root = shared::shared("data/windows/evtx", "reads the real EVTX files")?;
    let mut files = Vec::new();
    let mut stack = vec![root];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "evtx") {
                files.push(p);
            }
        }
    }
    files.sort();
    Some(files)
}

/// The one-pass route and the tree route give the same text for every record of the real files
/// (and the same errors for broken XML).
#[test]
fn both_routes_agree_on_the_real_files() {
    let Some(files) = real_evtx_files() else {
        return;
    };
    let mut records = 0;
    for f in &files {
        let Ok(parser) = evtx::EvtxParser::from_path(f) else {
            continue;
        };
        let mut parser = parser.with_configuration(evtx::ParserSettings::new().indent(false));
        for r in parser.records().flatten() {
            let (mut a, mut b) = (String::new(), String::new());
            let ra = input::evtx::forwarder_text(&r.data, &mut a);
            let rb = input::evtx::forwarder_text_by_tree(&r.data, &mut b);
            assert_eq!(ra, rb, "{}", f.display());
            assert_eq!(a, b, "{}", f.display());
            // the reader builds events from this text without checking it again
            if ra.is_ok() {
                assert_eq!(input::xml::check(&a), Ok(()), "{}: {a}", f.display());
            }
            records += 1;
        }
    }
    assert!(records > 10_000, "{records}");
    for bad in [
        "<Event>",
        "<Event></System>",
        "<A/><B/>",
        "x<A/>",
        "<Event>&bogus;</Event>",
    ] {
        let (mut a, mut b) = (String::new(), String::new());
        assert!(input::evtx::forwarder_text(bad, &mut a).is_err(), "{bad}");
        assert!(
            input::evtx::forwarder_text_by_tree(bad, &mut b).is_err(),
            "{bad}"
        );
    }
}

/// The extraction's fields but the `*_Xml` blocks, in order, with the three the reader uses apart.
type Fields = (
    Vec<(String, String)>,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn owned(x: &input::xml::Extracted<'_>, blocks: bool) -> Fields {
    let fields = x
        .fields
        .iter()
        .filter(|(n, _)| blocks || !input::xml::BLOCK_FIELDS.contains(n))
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    let s = |o: Option<&str>| o.map(str::to_string);
    (fields, s(x.channel), s(x.computer), s(x.system_time))
}

/// What the text route gives for a record: the forwarder's text, then the add-on's extraction of it
/// (the block fields left out), or why the record cannot be read.
fn by_text(xml: &str) -> Result<Fields, String> {
    let mut text = String::new();
    input::evtx::forwarder_text(xml, &mut text)?;
    input::xml::check(&text)?;
    Ok(owned(&input::xml::extract(&text), false))
}

#[test]
fn fields_without_the_text_equal_the_texts_extraction() {
    let Some(files) = real_evtx_files() else {
        return;
    };
    let (mut records, mut fused, mut mutated, mut mutated_fused) = (0, 0, 0, 0);
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n.max(1) as u64) as usize
    };
    // what a damaged or unusual record may hold
    let inserts = [
        "&amp;",
        "&bogus;",
        "&#x41;",
        "&",
        "<",
        ">",
        "'",
        "\"",
        "<!-- c -->",
        "<?pi?>",
        "</Data>",
        "<Data Name=\"N\">v</Data>",
        "<System>",
        "</System>",
        "<EventID>12</EventID>",
        "<TimeCreated SystemTime=\"2024-01-02T03:04:05.1Z\"/>",
        "{9d1ed712-fffd-623d-1f02-000000003b02}",
        " Name=\"x\"",
        "<X><Data Name=\"Q\">q</Data><Level>l</Level></X>",
        "<EventData>",
        "</EventData>",
        "<RenderingInfo><Level>x</Level>",
        "</RenderingInfo>",
    ];
    let mut own = input::evtx::Scratch::default();
    for f in &files {
        let Ok(parser) = evtx::EvtxParser::from_path(f) else {
            continue;
        };
        let mut parser = parser.with_configuration(evtx::ParserSettings::new().indent(false));
        for r in parser.records().flatten() {
            records += 1;
            let want = by_text(&r.data);
            let got = input::evtx::fields_of_record(&r.data, &|_| true, &mut own)
                .map(|x| owned(&x, true));
            if let Some(g) = &got {
                fused += 1;
                assert_eq!(Ok(g), want.as_ref(), "{}: {}", f.display(), r.data);
            }
            // asked for some fields only: those, and the ones the reader and the derived fields
            // (EventCode, RecordNumber, Sub_Status) are made of
            let some = |n: &str| n.len().is_multiple_of(3);
            let made_of = ["Channel", "Computer", "EventRecordID", "SubStatus"];
            let derived = ["EventCode", "RecordNumber", "Sub_Status"];
            let got =
                input::evtx::fields_of_record(&r.data, &some, &mut own).map(|x| owned(&x, true));
            let want = want.map(|(fields, ch, co, t)| {
                let fields = fields
                    .into_iter()
                    .filter(|(n, _)| {
                        some(n) || made_of.contains(&n.as_str()) || derived.contains(&n.as_str())
                    })
                    .collect();
                (fields, ch, co, t)
            });
            assert_eq!(got.ok_or(()), want.map_err(|_| ()), "{}", r.data);
            // whole elements after the last block: a second System, EventData or RenderingInfo block
            // and named data outside any EventData
            for tail in [
                "<X><Data Name=\"Q\">q</Data><Level>l</Level></X>",
                "<RenderingInfo><Level>x</Level><Message>m</Message></RenderingInfo>",
                "<EventData><Data Name=\"E2\">e</Data></EventData>",
                "<System><Channel>c2</Channel><EventRecordID>7</EventRecordID></System>",
            ] {
                let Some(at) = r.data.rfind("</Event>") else {
                    continue;
                };
                let mut xml = r.data.clone();
                xml.insert_str(at, tail);
                let g = input::evtx::fields_of_record(&xml, &|_| true, &mut own)
                    .map(|x| owned(&x, true));
                assert_eq!(
                    g.as_ref().ok_or(()),
                    by_text(&xml).as_ref().map_err(|_| ()),
                    "{xml}"
                );
            }
            // every tenth record, damaged or changed at random places: whenever the fields are taken
            // without the text, they are the text's
            if records % 10 == 0 {
                let mut xml = r.data.clone();
                for _ in 0..1 + next(3) {
                    let mut at = next(xml.len());
                    while !xml.is_char_boundary(at) {
                        at -= 1;
                    }
                    if next(2) == 0 {
                        // between tags, mostly: where a well-formed insertion keeps the record whole
                        if next(4) > 0 {
                            let starts: Vec<usize> = xml.match_indices('<').map(|m| m.0).collect();
                            at = starts.get(next(starts.len())).copied().unwrap_or(at);
                        }
                        xml.insert_str(at, inserts[next(inserts.len())]);
                    } else {
                        let mut end = (at + 1 + next(12)).min(xml.len());
                        while !xml.is_char_boundary(end) {
                            end += 1;
                        }
                        xml.replace_range(at..end, "");
                    }
                }
                mutated += 1;
                if let Some(g) = input::evtx::fields_of_record(&xml, &|_| true, &mut own) {
                    assert_eq!(Ok(owned(&g, true)), by_text(&xml), "{xml}");
                    mutated_fused += 1;
                }
            }
        }
    }
    assert!(records > 10_000, "{records}");
    // the real records all have the plain shape
    assert_eq!(fused, records);
    assert!(mutated > 1_000);
    assert!(mutated_fused > mutated / 10, "{mutated_fused} of {mutated}");
}
