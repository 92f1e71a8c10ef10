//! `junit.xml`: a test case per thresholded metric and one per failing case, so CI
//! test reporters (GitHub, GitLab, Jenkins) show the gate like a test run. A case the
//! backend gave no answer to is an `<error>` (the test could not run), not a
//! `<failure>` of the model.

use std::fmt::Write;

use super::format;
use crate::gate::Verdict;
use crate::runner::Run;
use crate::score::FailureClass;

/// Render the JUnit XML report.
pub fn render_junit(run: &Run) -> String {
    render_junit_arms(&run.meta.suite, &[("", run)])
}

/// Render one JUnit XML report for the arms of a run (`(arm name, its run)`): each arm's
/// two test suites, named after the arm (`gate [production+schema]`); an empty name
/// leaves the suites' names plain.
pub fn render_junit_arms(suite: &str, arms: &[(&str, &Run)]) -> String {
    let mut body = String::new();
    let mut total = Counts::default();
    for (arm, run) in arms {
        let counts = write_suites(&mut body, arm, run);
        total.tests += counts.tests;
        total.failures += counts.failures;
        total.errors += counts.errors;
    }
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"okla-eval {}\" tests=\"{}\" failures=\"{}\" errors=\"{}\">",
        escape(suite),
        total.tests,
        total.failures,
        total.errors
    );
    x.push_str(&body);
    x.push_str("</testsuites>\n");
    x
}

/// Test counts of a group of suites.
#[derive(Debug, Default)]
struct Counts {
    tests: usize,
    failures: usize,
    errors: usize,
}

/// Write `run`'s gate suite and failing-cases suite, their names tagged with `arm`.
fn write_suites(x: &mut String, arm: &str, run: &Run) -> Counts {
    let tag = |name: &str| match arm {
        "" => name.to_string(),
        arm => format!("{name} [{arm}]"),
    };
    let failing: Vec<_> = run.results.iter().filter(|r| !r.passed).collect();
    let errors = failing
        .iter()
        .filter(|r| r.class == FailureClass::BackendError)
        .count();
    let metric_failures = run
        .gate
        .verdicts
        .iter()
        .filter(|v| v.verdict == Verdict::Fail)
        .count();
    let metric_skipped = run
        .gate
        .verdicts
        .iter()
        .filter(|v| v.verdict == Verdict::NotMeasured)
        .count();
    let _ = writeln!(
        x,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{metric_failures}\" skipped=\"{metric_skipped}\">",
        escape(&tag("gate")),
        run.gate.verdicts.len()
    );
    for v in &run.gate.verdicts {
        let name = format!(
            "{} {} {}",
            v.metric,
            format::value(&v.metric, v.value),
            format::rule(v)
        );
        let _ = write!(
            x,
            "    <testcase classname=\"{}\" name=\"{}\"",
            escape(&tag("gate")),
            escape(&name)
        );
        match v.verdict {
            Verdict::Fail => {
                let kind = if v.threshold.critical {
                    "critical"
                } else {
                    "warning"
                };
                let _ = writeln!(
                    x,
                    ">\n      <failure type=\"{kind}\" message=\"{}\"/>\n    </testcase>",
                    escape(&v.explanation)
                );
            }
            Verdict::NotMeasured => {
                let _ = writeln!(
                    x,
                    ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                    escape(&v.explanation)
                );
            }
            Verdict::Pass | Verdict::Ideal => x.push_str("/>\n"),
        }
    }
    x.push_str("  </testsuite>\n");
    let _ = writeln!(
        x,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{errors}\">",
        escape(&tag("failing cases")),
        failing.len(),
        failing.len() - errors
    );
    for r in &failing {
        let element = if r.class == FailureClass::BackendError {
            "error"
        } else {
            "failure"
        };
        let _ = writeln!(
            x,
            "    <testcase classname=\"{}\" name=\"{}\">\n      <{element} type=\"{}\" message=\"{}\"/>\n    </testcase>",
            escape(&tag("cases")),
            escape(&r.id),
            r.failure_kind(),
            escape(&r.why())
        );
    }
    x.push_str("  </testsuite>\n");
    Counts {
        tests: run.gate.verdicts.len() + failing.len(),
        failures: metric_failures + failing.len() - errors,
        errors,
    }
}

/// Escape text for an XML attribute; characters XML 1.0 forbids are dropped.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' | '\r' => out.push(' '),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_markup_and_drops_control_characters() {
        assert_eq!(escape("a<b & \"c\"\u{1}"), "a&lt;b &amp; &quot;c&quot;");
    }
}
