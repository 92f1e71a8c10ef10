//! `bench` reports: one serialization of [`BenchRow`] (serde, llama-bench's field
//! names) behind the JSON, JSONL and CSV renderings, and a Markdown table for people.

use anyhow::Result;
use serde_json::{Map, Value};

use okla_engine::bench::{BenchReport, BenchRow};

/// A Markdown table like llama-bench's, with a peak-RSS line.
pub fn render_table(report: &BenchReport) -> String {
    let mut out = String::from(
        "| model | size | params | backend | threads | test | t/s |\n| --- | ---: | ---: | --- | ---: | ---: | ---: |\n",
    );
    for r in &report.rows {
        out.push_str(&format!(
            "| {} | {:.2} MiB | {:.2} M | {} | {} | {} | {:.2} ± {:.2} |\n",
            r.model_filename,
            r.model_size as f64 / (1024.0 * 1024.0),
            r.model_n_params as f64 / 1e6,
            r.backend,
            r.n_threads,
            r.test,
            r.avg_ts,
            r.stddev_ts
        ));
    }
    if let Some(rss) = report.peak_rss_bytes {
        out.push_str(&format!(
            "\npeak RSS: {:.1} MiB\n",
            rss as f64 / (1024.0 * 1024.0)
        ));
    }
    out
}

/// JSON: the report object (`rows` with llama-bench's field names, `peak_rss_bytes`).
pub fn render_json(report: &BenchReport) -> Result<String> {
    Ok(serde_json::to_string_pretty(report)? + "\n")
}

/// JSONL: one self-describing row a line, `peak_rss_bytes` in each.
pub fn render_jsonl(report: &BenchReport) -> Result<String> {
    let mut out = String::new();
    for row in &report.rows {
        out.push_str(&serde_json::to_string(&row_fields(row, report)?)?);
        out.push('\n');
    }
    Ok(out)
}

/// CSV: the JSONL rows' fields as columns; sample lists as space-separated numbers.
pub fn render_csv(report: &BenchReport) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for (i, row) in report.rows.iter().enumerate() {
        let fields = row_fields(row, report)?;
        if i == 0 {
            w.write_record(fields.keys())?;
        }
        w.write_record(fields.values().map(csv_cell))?;
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

/// A row's serialized fields, followed by the report's `peak_rss_bytes`.
fn row_fields(row: &BenchRow, report: &BenchReport) -> Result<Map<String, Value>> {
    let Value::Object(mut fields) = serde_json::to_value(row)? else {
        anyhow::bail!("a bench row serializes to an object");
    };
    fields.insert(
        "peak_rss_bytes".into(),
        report.peak_rss_bytes.map_or(Value::Null, Value::from),
    );
    Ok(fields)
}

fn csv_cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(csv_cell).collect::<Vec<_>>().join(" "),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use okla_engine::bench::mean_stddev;

    fn report() -> BenchReport {
        let row = |test: &str, n_prompt, n_gen, n_seq, ts: Vec<f64>| {
            let (avg_ts, stddev_ts) = mean_stddev(&ts);
            BenchRow {
                tool_version: "0.1.0".into(),
                build_commit: "abc1234".into(),
                cpu_info: "Test CPU @ 2.0GHz".into(),
                model_filename: "tiny.gguf".into(),
                model_size: 53_933_408,
                model_n_params: 66_584_576,
                backend: "CPU (Avx2)".into(),
                n_threads: 2,
                n_batch: 512,
                n_prompt,
                n_gen,
                n_seq,
                n_depth: 0,
                test: test.into(),
                test_time: "2026-12-05T10:00:00Z".into(),
                avg_ns: 2,
                stddev_ns: 1,
                avg_ts,
                stddev_ts,
                samples_ns: vec![1, 2],
                samples_ts: ts,
            }
        };
        BenchReport {
            rows: vec![
                row("pp512", 512, 0, 1, vec![100.0, 110.0]),
                row("tg128", 0, 128, 1, vec![50.0, 50.0]),
                row("tg128x8", 0, 128, 8, vec![200.0, 210.0]),
            ],
            peak_rss_bytes: Some(64 << 20),
        }
    }

    #[test]
    fn renderings() {
        let r = report();
        insta::assert_snapshot!("bench_table", render_table(&r));
        insta::assert_snapshot!("bench_csv", render_csv(&r).unwrap());
        let json: serde_json::Value = serde_json::from_str(&render_json(&r).unwrap()).unwrap();
        assert_eq!(json["rows"][1]["test"], "tg128");
        assert_eq!(json["peak_rss_bytes"], 64 << 20);
    }

    #[test]
    fn csv_and_jsonl_carry_the_same_self_describing_fields() {
        let r = report();
        let csv = render_csv(&r).unwrap();
        let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
        let jsonl = render_jsonl(&r).unwrap();
        let first: Map<String, Value> =
            serde_json::from_str(jsonl.lines().next().unwrap()).unwrap();
        assert_eq!(header, first.keys().map(String::as_str).collect::<Vec<_>>());
        for field in [
            "tool_version",
            "build_commit",
            "cpu_info",
            "n_threads",
            "n_batch",
            "n_seq",
            "test_time",
            "samples_ns",
        ] {
            assert!(header.contains(&field), "{field} missing from {header:?}");
        }
        assert_eq!(jsonl.lines().count(), 3);
        assert!(csv.lines().nth(1).unwrap().contains(",1 2,"), "{csv}");
    }
}
