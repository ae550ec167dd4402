//! Wire types of usage metering.

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsageQuery {
    /// The first day, UTC; by default 29 days before `to`.
    pub from: Option<NaiveDate>,
    /// The last day, UTC; by default today.
    pub to: Option<NaiveDate>,
    /// Also break each day down by user and API key.
    #[serde(default)]
    pub by_principal: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsageReport {
    /// Every day from `from` to `to`, oldest first.
    pub days: Vec<UsageDay>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsageDay {
    pub date: NaiveDate,
    /// Successful reads of tenant data.
    pub reads: i64,
    /// Committed writes to tenant data.
    pub writes: i64,
    /// The daily write quota the day's writes were counted against.
    pub write_quota: i64,
    /// Each principal's share; only with `byPrincipal=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principals: Option<Vec<PrincipalUsage>>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PrincipalUsage {
    /// `user` or `api_key`.
    #[serde(rename = "type")]
    pub kind: String,
    pub id: Uuid,
    pub reads: i64,
    pub writes: i64,
}
