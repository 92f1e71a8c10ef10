//! Snapshot files (`golden/<name>.json`): a run's metrics and, per case, its verdicts.
//!
//! A snapshot is taken only of a whole, judged run: a run folder that is not whole, a
//! run the backend failed (no verdict) and, for blessing, a partial run (`--max-cases`)
//! are refused. A golden file is read only in the current format, with metric names
//! that exist and per-case verdicts that give its metrics, each problem an input error
//! naming file, line and field.
//!
//! Format 2 keeps, per case, whether it passed every criterion and the rate metrics it
//! failed and passed (those that did not apply to it are in neither list), one line per
//! case: `"okla_test:3:1": {"passed": false, "fail": ["price_grounding"], "pass":
//! ["json_valid", …]}`. Two lists per case rather than a map per metric keep a case's
//! verdicts on its line (a re-bless diffs as the cases that changed), name what applied
//! (so a metric added later is never read as passed) and cost a line per case, not per
//! case and metric. Format 1 files (pass/fail per case only) cannot feed the paired test
//! and are refused: bless them again.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::layout::to_json_lines;
use crate::gate::Outcome;
use crate::locate::json_key_line;
use crate::prediction::PREDICTIONS_JSONL;
use crate::report::{read_report, ReportFile, REPORT_JSON};
use crate::score::{case_verdicts, check_metric_name, CaseResult, RATE_METRICS};
use okla_formats::atomic::write_atomic;
use okla_formats::error::InputError;

/// What a golden file holds, and what a run folder is reduced to for comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Format version.
    pub format: u32,
    /// Suite name.
    pub suite: String,
    /// Suite sha256 (comparisons across different suite contents are flagged).
    pub suite_sha256: String,
    /// Backend kind.
    pub backend: String,
    /// Model (or predictions file) sha256.
    pub model_sha256: Option<String>,
    /// Measured metric values (unmeasured ones are left out).
    pub metrics: BTreeMap<String, f64>,
    /// Case id → its verdicts.
    pub cases: BTreeMap<String, CaseVerdicts>,
    /// The gate's verdict on the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// The machine the timing metrics measured ([`crate::backend::BackendInfo::timed_on`]):
    /// timings of runs timed on different machines are not compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timed_on: Option<String>,
}

/// One case's verdicts: every criterion, and each rate metric that applied to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseVerdicts {
    /// Passed every per-case criterion.
    pub passed: bool,
    /// The rate metrics it failed, in report order.
    pub fail: Vec<String>,
    /// The rate metrics it passed, in report order.
    pub pass: Vec<String>,
}

impl CaseVerdicts {
    /// The verdicts of one scored case ([`case_verdicts`]).
    fn of(result: &CaseResult) -> CaseVerdicts {
        let (pass, fail): (Vec<_>, Vec<_>) = case_verdicts(result)
            .into_iter()
            .partition(|(_, passed)| *passed);
        let names = |v: Vec<(&str, bool)>| v.into_iter().map(|(m, _)| m.to_string()).collect();
        CaseVerdicts {
            passed: result.passed,
            fail: names(fail),
            pass: names(pass),
        }
    }

    /// The case's verdict on rate metric `metric` (`None`: it did not apply).
    pub fn verdict(&self, metric: &str) -> Option<bool> {
        if self.pass.iter().any(|m| m == metric) {
            Some(true)
        } else if self.fail.iter().any(|m| m == metric) {
            Some(false)
        } else {
            None
        }
    }
}

/// The snapshot format version.
pub const SNAPSHOT_FORMAT: u32 = 2;

/// Nesting written indented in a golden file: the snapshot and its maps; each case's
/// verdicts sit on one line.
const INDENTED_DEPTH: usize = 2;

/// Reduce a run folder (report.json + predictions.jsonl) to a snapshot; a folder that is
/// not whole, or a run that could not be evaluated, is an input error.
pub fn snapshot_of_run_dir(dir: &Path) -> Result<Snapshot> {
    Ok(judged_run(dir)?.1)
}

/// Write the run in `dir` as the golden snapshot `golden` (atomically): only a whole,
/// judged run of every case of its suite can become a baseline.
pub fn bless(dir: &Path, golden: &Path) -> Result<Snapshot> {
    let (report, snapshot) = judged_run(dir)?;
    let evidence = report.gate.evidence;
    if evidence.is_partial() {
        return Err(InputError::file(
            dir,
            format!(
                "a partial run ({} of the suite's {} cases, --max-cases) cannot become a golden snapshot: gate every case",
                evidence.scored, evidence.suite_cases
            ),
        )
        .into());
    }
    write_atomic(golden, render_snapshot(&snapshot)?.as_bytes())?;
    Ok(snapshot)
}

/// A snapshot as the text of a golden file.
fn render_snapshot(snapshot: &Snapshot) -> serde_json::Result<String> {
    Ok(to_json_lines(snapshot, INDENTED_DEPTH)? + "\n")
}

/// The run in `dir` with its snapshot, refused unless the folder is whole and judged.
fn judged_run(dir: &Path) -> Result<(ReportFile, Snapshot)> {
    let report = read_report(dir)?;
    if report.gate.outcome == Outcome::CouldNotEvaluate {
        return Err(InputError::file(
            dir,
            format!(
                "this run could not be evaluated (the backend gave no answer to {} of its {} cases): it has no verdict to compare",
                report.gate.evidence.unanswered, report.gate.evidence.scored
            ),
        )
        .into());
    }
    let snapshot = Snapshot {
        format: SNAPSHOT_FORMAT,
        suite: report.meta.suite.clone(),
        suite_sha256: report.meta.suite_sha256.clone(),
        backend: report.meta.backend.kind.clone(),
        model_sha256: report.meta.backend.model_sha256.clone(),
        metrics: report
            .summary
            .metrics
            .iter()
            .filter_map(|m| Some((m.name.clone(), m.value?)))
            .collect(),
        cases: scored_cases(&dir.join(PREDICTIONS_JSONL))?,
        outcome: Some(report.gate.outcome),
        timed_on: report.meta.backend.timed_on(),
    };
    if let Err((metric, why)) = check_rates(&snapshot) {
        return Err(InputError {
            file: Some(dir.join(REPORT_JSON)),
            line: None,
            field: Some(format!("summary.metrics.{metric}")),
            message: format!(
                "{why} ({PREDICTIONS_JSONL}): a run of another okla-eval version? gate it again"
            ),
        }
        .into());
    }
    Ok((report, snapshot))
}

/// The verdicts of every case of a run's `predictions.jsonl`, each line read back as the
/// [`CaseResult`] the scorer wrote.
fn scored_cases(path: &Path) -> Result<BTreeMap<String, CaseVerdicts>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| InputError::file(path, format!("cannot read: {e}")))?;
    let mut cases = BTreeMap::new();
    for (i, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        let result: CaseResult = serde_json::from_str(raw)
            .map_err(|e| InputError::at(path, i + 1, None, format!("not a scored case: {e}")))?;
        cases.insert(result.id.clone(), CaseVerdicts::of(&result));
    }
    Ok(cases)
}

/// Check that the cases' verdicts give the snapshot's rate metrics: every rate metric
/// some case has a verdict on is measured, at the share of cases that passed it, and no
/// other. The error names the metric.
fn check_rates(snapshot: &Snapshot) -> Result<(), (String, String)> {
    for &metric in RATE_METRICS {
        let verdicts: Vec<bool> = snapshot
            .cases
            .values()
            .filter_map(|case| case.verdict(metric))
            .collect();
        let passed = verdicts.iter().filter(|&&pass| pass).count();
        let value = snapshot.metrics.get(metric);
        let why = match (value, verdicts.len()) {
            (None, 0) => continue,
            (Some(_), 0) => "measured, but no case has a verdict on it".to_string(),
            (None, n) => format!("not measured, but the cases hold {n} verdicts on it"),
            (Some(&v), n) if (v - passed as f64 / n as f64).abs() > 1e-9 => {
                format!("{v}, but {passed} of the {n} cases judged passed it")
            }
            _ => continue,
        };
        return Err((metric.to_string(), why));
    }
    Ok(())
}

/// Read a golden file, or reduce a run folder, whichever `path` is.
pub fn read_snapshot(path: &Path) -> Result<Snapshot> {
    if path.is_dir() {
        return snapshot_of_run_dir(path);
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| InputError::file(path, format!("cannot read: {e}")))?;
    Ok(parse_snapshot(&text, path)?)
}

/// The format field alone, read before the rest (whose layout depends on it).
#[derive(Deserialize)]
struct Header {
    format: u32,
}

/// Parse a golden file's text (read from `path`).
fn parse_snapshot(text: &str, path: &Path) -> Result<Snapshot, InputError> {
    let not_golden = |e: serde_json::Error| {
        InputError::at(path, e.line(), None, format!("not a golden snapshot: {e}"))
    };
    let at = |key: &str, field: String, message: String| InputError {
        file: Some(path.to_path_buf()),
        line: json_key_line(text, key),
        field: Some(field),
        message,
    };
    let header: Header = serde_json::from_str(text).map_err(not_golden)?;
    if header.format != SNAPSHOT_FORMAT {
        return Err(at(
            "format",
            "format".into(),
            format!(
                "snapshot format {} is not the format {SNAPSHOT_FORMAT} this okla-eval reads (per-case verdicts of every rate metric, for the paired test): bless it again with this version",
                header.format
            ),
        ));
    }
    let snapshot: Snapshot = serde_json::from_str(text).map_err(not_golden)?;
    for name in snapshot.metrics.keys() {
        check_metric_name(name).map_err(|why| at(name, format!("metrics.{name}"), why))?;
    }
    for (id, case) in &snapshot.cases {
        check_case(case).map_err(|(list, why)| at(id, format!("cases.{id}.{list}"), why))?;
    }
    check_rates(&snapshot).map_err(|(metric, why)| {
        at(
            &metric,
            format!("metrics.{metric}"),
            format!("{why}: the metrics and the verdicts disagree (bless it again)"),
        )
    })?;
    Ok(snapshot)
}

/// Check one case's lists: rate metric names, each at most once in the two lists. The
/// error names the list.
fn check_case(case: &CaseVerdicts) -> Result<(), (&'static str, String)> {
    let mut seen = Vec::new();
    for (list, names) in [("fail", &case.fail), ("pass", &case.pass)] {
        for name in names {
            if !RATE_METRICS.contains(&name.as_str()) {
                return Err((
                    list,
                    format!(
                        "{name:?} is not a rate metric (known: {})",
                        RATE_METRICS.join(", ")
                    ),
                ));
            }
            if seen.contains(&name) {
                return Err((list, format!("{name:?} is listed twice")));
            }
            seen.push(name);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOLDEN: &str = r#"{
  "format": 2,
  "suite": "s",
  "suite_sha256": "h",
  "backend": "replay",
  "model_sha256": null,
  "metrics": {
    "json_valid": 0.5,
    "json_vaild": 0.5
  },
  "cases": {
    "a": {"passed": true, "fail": [], "pass": ["json_valid"]},
    "b": {"passed": false, "fail": ["json_valid"], "pass": []}
  }
}"#;

    fn parse(text: &str) -> Result<Snapshot, InputError> {
        parse_snapshot(text, Path::new("g.json"))
    }

    fn valid() -> String {
        GOLDEN
            .replace("    \"json_vaild\": 0.5\n", "")
            .replace("0.5,", "0.5")
    }

    #[test]
    fn unknown_metric_names_are_located() {
        let err = parse(GOLDEN).unwrap_err();
        assert_eq!(err.line, Some(9));
        assert_eq!(err.field.as_deref(), Some("metrics.json_vaild"));
        assert!(err.message.contains("unknown metric"), "{err}");
        let snapshot = parse(&valid()).unwrap();
        assert_eq!(snapshot.metrics.len(), 1);
        assert_eq!(snapshot.cases["b"].verdict("json_valid"), Some(false));
        assert_eq!(snapshot.cases["b"].verdict("schema_valid"), None);
    }

    #[test]
    fn other_formats_are_refused_before_their_layout_is_read() {
        // A format 1 file: pass/fail per case, no verdicts per metric.
        let text = valid().replace("\"format\": 2", "\"format\": 1").replace(
            r#"{"passed": true, "fail": [], "pass": ["json_valid"]}"#,
            "true",
        );
        let err = parse(&text).unwrap_err();
        assert_eq!((err.line, err.field.as_deref()), (Some(2), Some("format")));
        assert!(
            err.message
                .starts_with("snapshot format 1 is not the format 2 this okla-eval reads"),
            "{err}"
        );
        assert!(
            err.message.ends_with("bless it again with this version"),
            "{err}"
        );
    }

    #[test]
    fn bad_case_verdicts_are_located() {
        let err = parse(&valid().replace(r#""pass": ["json_valid"]"#, r#""pass": ["eval_loss"]"#))
            .unwrap_err();
        assert_eq!(
            (err.line, err.field.as_deref()),
            (Some(11), Some("cases.a.pass"))
        );
        assert!(
            err.message.contains("\"eval_loss\" is not a rate metric"),
            "{err}"
        );
        let err =
            parse(&valid().replace(r#""pass": []"#, r#""pass": ["json_valid"]"#)).unwrap_err();
        assert_eq!(
            (err.line, err.field.as_deref()),
            (Some(12), Some("cases.b.pass"))
        );
        assert!(err.message.contains("listed twice"), "{err}");
    }

    #[test]
    fn metrics_the_verdicts_do_not_give_are_located() {
        let err =
            parse(&valid().replace("\"json_valid\": 0.5", "\"json_valid\": 0.75")).unwrap_err();
        assert_eq!(
            (err.line, err.field.as_deref()),
            (Some(8), Some("metrics.json_valid"))
        );
        assert_eq!(
            err.message,
            "0.75, but 1 of the 2 cases judged passed it: the metrics and the verdicts disagree (bless it again)"
        );
        let unmeasured = valid().replace(r#""pass": []"#, r#""pass": ["schema_valid"]"#);
        let err = parse(&unmeasured).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("metrics.schema_valid"));
        assert!(
            err.message
                .starts_with("not measured, but the cases hold 1 verdicts"),
            "{err}"
        );
    }

    #[test]
    fn per_case_verdicts_round_trip_one_line_per_case() {
        let snapshot = parse(&valid()).unwrap();
        let text = render_snapshot(&snapshot).unwrap();
        assert_eq!(parse(&text).unwrap(), snapshot);
        assert!(
            text.contains(
                "\n    \"b\": {\"passed\": false, \"fail\": [\"json_valid\"], \"pass\": []}\n"
            ),
            "{text}"
        );
        assert_eq!(text.lines().count(), 14);
    }
}
