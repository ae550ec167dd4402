//! Incident Tracker: a multi-tenant incident tracker HTTP API.
//!
//! `docs/ARCHITECTURE.md` describes the layers and follows one request
//! through them; `docs/ADDING-AN-ENDPOINT.md` is the checklist for a new
//! operation.

pub mod actor;
pub mod api;
pub mod app;
pub mod artifacts;
pub mod audit;
pub mod config;
pub mod crypto;
pub mod db;
pub mod error;
pub mod http;
pub mod mail;
pub mod markdown;
pub mod policy;
pub mod scanner;
pub mod server;
pub mod sessions;
pub mod storage;
pub mod telemetry;
pub mod text;
