//! The broker conformance suite lives in `tests/conformance`: the same
//! tests, run against the in-process `crosswire::broker::MemoryBus`,
//! a real `redis-server` and a real `nats-server` that the tests start on
//! free ports. This crate has no code of its own; it exists so the suite can
//! depend on both broker crates without the library depending on them.
//!
//! `cargo test -p crosswire-broker-tests`
