#!/usr/bin/env python3
"""Write suites/okla/example_predictions.jsonl: recorded answers of a plausible
fine-tuned model on the OKLA test split, for the replay demo of `okla-eval gate`.

Each case's reference answer is kept or damaged in one of the ways real runs fail
(text after the object, cut off, prose, code fences, a wrong intent, a missing
field), chosen by the sha256 of the case id, so the file is deterministic.
Usage: python3 scripts/reference/make_example_predictions.py [SUITE_DIR]
"""
import hashlib
import json
import os
import sys

CONFUSIONS = {
    "VehiclePrice": "VehicleDetails", "VehicleDetails": "VehiclePrice",
    "FinancingInfo": "CashPurchase", "CashPurchase": "FinancingInfo",
    "TestDriveSchedule": "ContactRequest", "DealerHours": "DealerLocation",
    "VehicleSearch": "VehicleComparison", "NegotiatePrice": "VehiclePrice",
}


def damaged(case_id, reference):
    bucket = int(hashlib.sha256(case_id.encode()).hexdigest(), 16) % 100
    answer = json.loads(reference)
    if bucket < 4:
        return reference + "\n\n¿Hay algo más en lo que te pueda ayudar?"
    if bucket < 6:
        return reference[: int(len(reference) * 0.6)]
    if bucket < 7:
        return answer["response"]
    if bucket < 9:
        return "```json\n" + reference + "\n```"
    if bucket < 15 and answer.get("intent") in CONFUSIONS:
        answer["intent"] = CONFUSIONS[answer["intent"]]
        return json.dumps(answer, ensure_ascii=False)
    if bucket < 16:
        answer.pop("isFallback", None)
        return json.dumps(answer, ensure_ascii=False)
    return reference


def main():
    suite = sys.argv[1] if len(sys.argv) > 1 else "suites/okla"
    cases = os.path.join(suite, "okla_test.jsonl")
    out_path = os.path.join(suite, "example_predictions.jsonl")
    lines = []
    with open(cases, encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            turn = 0
            for message in json.loads(line)["messages"]:
                if message["role"] == "assistant":
                    case_id = f"okla_test:{line_no}:{turn}"
                    output = damaged(case_id, message["content"])
                    lines.append(json.dumps({"id": case_id, "output": output}, ensure_ascii=False))
                    turn += 1
    with open(out_path + ".tmp", "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(out_path + ".tmp", out_path)
    print(f"wrote {len(lines)} predictions to {out_path}")


if __name__ == "__main__":
    main()
