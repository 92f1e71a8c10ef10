//! Wall-clock timestamps as run folders and bench rows record them.

/// The current UTC time as RFC 3339, to the second (`2026-11-25T09:12:30Z`).
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "unknown".into())
}
