//! cutover: a full-screen terminal cockpit for one blue/green release.
//!
//! The crate is split along the seams described in ARCHITECTURE.md: `core` is the pure domain, `sim` the
//! bundled simulator, `backends` the traffic switches, `signals` the pollers, `app` the event
//! loop, `ui` the rendering and `config`/`cli` the outside shapes.
#![forbid(unsafe_code)]

pub mod app;
pub mod backends;
pub mod cli;
pub mod commands;
pub mod config;
pub mod core;
pub mod shared;
pub mod signals;
pub mod sim;
pub mod tui;
pub mod ui;
