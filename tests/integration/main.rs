//! The one integration-test binary: every test file is a module of it.

#[path = "../common/mod.rs"]
mod common;

mod account_deletion;
mod api_keys;
mod attachments;
mod audit;
mod auth;
mod authorization;
mod cli;
mod contract;
mod docs;
mod errors;
mod events;
mod exports;
mod hardening;
mod health;
mod incidents;
mod migrations;
mod retention;
mod rls;
mod shutdown;
mod telemetry;
mod tenants;
mod two_factor;
mod webhooks;
