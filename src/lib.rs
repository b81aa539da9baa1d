//! spelunk: run Splunk SPL searches — published detections as they are written — over local event files.
//!
//! The data path, top-down: [`macros`] (text → expanded text and a source map) → [`parse`] (→ a
//! [`parse::Pipeline`] of [`commands::Command`]s with spans) → [`plan`] (subsearches run first, then
//! operators) → [`commands`] (one file per SPL command: syntax, parser, operator) → [`output`]
//! (table, CSV, JSON). [`input`] reads event files into [`event::Event`]s, applying the sourcetype
//! knowledge of [`props`]; [`session::Session`] ties it together for the CLI and the interactive
//! shell ([`repl`]). [`translate`] writes a planned query as one SQL statement ([`sql`]) instead of running it.

pub mod chart;
pub mod check;
pub mod commands;
pub mod datamodels;
pub mod datasources;
pub mod diag;
pub mod engine;
pub mod eval;
pub mod event;
pub mod input;
pub mod limits;
pub mod lookups;
pub mod macros;
pub mod output;
pub mod parse;
pub mod pcre;
pub mod plan;
pub mod props;
pub mod repl;
pub mod session;
pub mod sql;
pub mod testing;
pub mod translate;
pub mod value;
