#![doc = include_str!("../README.md")]
#![allow(clippy::all, clippy::pedantic)]

include!(concat!(env!("OUT_DIR"), "/client.rs"));
