//! Scoring throughput: typical ~400-byte OKLA answers (mostly valid, some with the
//! usual failure modes) scored on one core — parse, classify, schema, fields, intent,
//! domain checks. Target: ≥ 100,000 turns/s.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use okla_harness::backend::Generation;
use okla_harness::score::{summarize, Scorer};
use okla_harness::suite::Suite;

fn answers(n: usize) -> Vec<Generation> {
    let valid = r#"{"response": "La Toyota RAV4 2022 XLE está disponible en RD$2,450,000. Tiene 30,000 km, motor 2.5L y transmisión automática. *Precio de referencia sujeto a confirmación. ¿Te gustaría agendar un test drive?", "intent": "VehiclePrice", "confidence": 0.93, "isFallback": false, "parameters": {"vehicleId": "v101"}, "leadSignals": {"interested": true, "readyToBuy": false, "wantsTestDrive": false}, "suggestedAction": null, "quickReplies": ["Agendar test drive", "Financiamiento"]}"#;
    (0..n)
        .map(|i| {
            let text = match i % 10 {
                7 => format!("{valid}\nuser: gracias"),
                8 => valid[..valid.len() / 2].to_string(),
                9 => format!("Claro, aquí va: {valid}"),
                _ => valid.to_string(),
            };
            Generation {
                text,
                ..Default::default()
            }
        })
        .collect()
}

fn scoring(c: &mut Criterion) {
    let suite = Suite::load(Path::new("tests/fixtures/mini")).expect("fixture suite");
    let scorer = Scorer::new(&suite).expect("scorer");
    let case = &suite.cases[0];
    let gens = answers(1000);
    let mut group = c.benchmark_group("score");
    group.throughput(Throughput::Elements(gens.len() as u64));
    group.bench_function("1000 turns, one core", |b| {
        b.iter(|| {
            let results: Vec<_> = gens.iter().map(|g| scorer.score(case, g)).collect();
            summarize(&results, None)
        })
    });
    group.finish();
}

criterion_group!(benches, scoring);
criterion_main!(benches);
