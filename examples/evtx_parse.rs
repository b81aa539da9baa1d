//! The `evtx` crate's own parse of an EVTX file, as the floor for spelunk's EVTX reading speed
//! (`scripts/bench.sh`): every record rendered as the crate's XML, one thread.
//!
//! `cargo run --release --example evtx_parse -- FILE` prints the records read, the records that
//! failed and the time taken; with `--xml` it prints each record's XML instead.

use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: evtx_parse FILE [--xml]");
        std::process::exit(2);
    };
    let xml = args.next().as_deref() == Some("--xml");
    let start = Instant::now();
    let mut parser = match evtx::EvtxParser::from_path(&path) {
        Ok(p) => p.with_configuration(evtx::ParserSettings::new().indent(false)),
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    let (mut ok, mut bad, mut bytes) = (0u64, 0u64, 0u64);
    for r in parser.records() {
        match r {
            Ok(r) => {
                ok += 1;
                bytes += r.data.len() as u64;
                if xml {
                    println!("{}", r.data);
                }
            }
            Err(e) => {
                bad += 1;
                if xml {
                    eprintln!("{e}");
                }
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    eprintln!("records {ok} failed {bad} xml_bytes {bytes} seconds {secs:.3}");
}
