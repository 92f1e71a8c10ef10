#!/usr/bin/env python3
"""Reference token ids for the Llama 3 chat template, for tests/text_reference.rs.

Renders a dozen varied conversations with the real `chat_template` string of
models/llama3/tokenizer_config.json through jinja2 and tokenizes them with the
Python `tokenizers` package (see llama3_reference.py), and derives
the assistant label spans from the ids alone (header structure), independently
of the Rust offset-based method.

Usage: $OKLA_CACHE/pyref/bin/python scripts/reference/text_reference_vectors.py
Writes tests/data/text/chat_template_vectors.json.
"""
import hashlib
import json
import sys

import jinja2
import tokenizers

from llama3_reference import MODEL, ROOT, Llama3Reference

OUT = ROOT / "tests" / "data" / "text" / "chat_template_vectors.json"


def msg(role, content):
    return {"role": role, "content": content}


SV = (
    "Eres OKLA Bot, asistente del dealer \"Autos Ñandú\" en Santo Domingo.\n"
    "VEHÍCULO EN CONTEXTO:\n- Toyota RAV4 2023 XLE | RD$2,850,000 | Gasolina | 12,000km\n"
    "Responde SIEMPRE con un objeto JSON."
)
DI = (
    "Eres OKLA Bot del dealer \"Motores del Cibao\" (ficticio).\n"
    "INVENTARIO DISPONIBLE (3 vehículos):\n"
    "- Hyundai Tucson 2022 | RD$1,950,000 🏷️OFERTA | ID:x001\n"
    "- Kia Picanto 2021 | RD$780,000 | ID:x002\n"
    "- Honda CR-V 2020 | RD$1,650,000 | ID:x003\n"
)


def answer(response, intent, **extra):
    obj = {
        "response": response,
        "intent": intent,
        "confidence": 0.93,
        "isFallback": False,
        "parameters": extra.get("parameters", {}),
        "leadSignals": {"interested": True, "readyToBuy": False, "wantsTestDrive": False},
        "suggestedAction": None,
        "quickReplies": ["Ver fotos", "Agendar test drive"],
    }
    return json.dumps(obj, ensure_ascii=False)


CASES = [
    ("greeting_accents", [
        msg("system", SV),
        msg("user", "Buenas, ¿cuánto cuesta la yipeta? Soy de Baní, señor."),
        msg("assistant", answer("¡Hola! La RAV4 está en RD$2,850,000, sujeto a confirmación.", "VehiclePrice")),
    ]),
    ("slang_multiturn", [
        msg("system", DI),
        msg("user", "klk tato, busco una yipeta pela'o"),
        msg("assistant", answer("¡Klk! Tenemos la Tucson en oferta 🏷️", "VehicleSearch",
                                parameters={"bodyType": "SUV", "maxPrice": 2000000, "currency": "DOP"})),
        msg("user", "y una guagua como de 800 mil? esa vaina ta jevi"),
        msg("assistant", answer("Un chin más abajo está el Picanto en RD$780,000.", "VehicleSearch")),
        msg("user", "ok dame un chin de tiempo"),
    ]),
    ("emoji", [
        msg("user", "🚗🔥 me encanta 😍👍🏽 la familia 👨‍👩‍👧 🇩🇴"),
        msg("assistant", answer("¡Qué bueno! 🙌", "Greeting")),
    ]),
    ("json_raw_assistant", [
        msg("system", "Responde en JSON."),
        msg("user", "precio?"),
        msg("assistant", '{"response":"RD$1,650,000 (ref.)","intent":"VehiclePrice","confidence":0.9,'
                         '"isFallback":false,"parameters":{"ids":["x003"],"nested":{"a":[1,2.5,-3e4]}},'
                         '"quickReplies":[]}'),
    ]),
    ("surrounding_whitespace", [
        msg("system", "   \n\tsistema con espacios \n\n"),
        msg("user", "\u00a0\u3000hola\u2009 \r\n"),
        msg("assistant", "\n\n  {\"response\": \"ok\"}  \n"),
        msg("user", " \x1c\x1dseparadores\x1e\x1f "),
    ]),
    ("empty_system", [
        msg("system", ""),
        msg("user", "¿Tienen financiamiento con Banreservas?"),
        msg("assistant", answer("Sí, trabajamos con Banreservas.", "FinancingInfo")),
    ]),
    ("whitespace_only_contents", [
        msg("system", " \n "),
        msg("user", "\t"),
        msg("assistant", "   "),
    ]),
    ("no_system_ends_with_user", [
        msg("user", "Quiero hablar con una persona real!!!"),
    ]),
    ("special_token_text_in_user", [
        msg("user", "escribo <|eot_id|> y <|begin_of_text|> a ver qué pasa"),
        msg("assistant", answer("Entendido.", "OutOfScope")),
    ]),
    ("numbers_contractions_crlf", [
        msg("system", DI),
        msg("user", "I'LL pay 1234567 pesos, it's 2,850,000.50?\r\nLine two\r\n\r\n3 líneas"),
        msg("assistant", answer("Eso es RD$1,234,567; ¿le interesa financiar?", "NegotiatePrice")),
    ]),
    ("other_scripts_and_combining", [
        msg("user", "e\u0301 vs é — 汽车 — سيارة — Ωμέγα — naïve café"),
        msg("assistant", answer("No entiendo bien, ¿me repite?", "Fallback")),
    ]),
    ("long_eight_turns", [msg("system", SV)] + [
        m
        for i in range(8)
        for m in (
            msg("user", f"pregunta {i}: ¿y la garantía del año {2015 + i}? 😅"),
            msg("assistant", answer(f"Respuesta {i}: garantía de {i + 1} año(s), sujeto a términos.",
                                    "WarrantyInfo")),
        )
    ]),
    ("frustrated_pii", [
        msg("system", SV),
        msg("user", "COÑO ya les dije!!! mi cédula es 001-1234567-8 llámenme al 809-555-0101"),
        msg("assistant", answer("Entiendo su molestia. Por su seguridad no comparta su cédula por aquí.",
                                "FrustratedUser")),
    ]),
]


def assistant_spans(ids, tok):
    """Token ranges [start, end) of assistant content + <|eot_id|>, from ids only."""
    start_header = tok.token_to_id("<|start_header_id|>")
    end_header = tok.token_to_id("<|end_header_id|>")
    eot = tok.token_to_id("<|eot_id|>")
    role = tok.encode("assistant", add_special_tokens=False).ids
    blank = tok.encode("\n\n", add_special_tokens=False).ids
    header = [start_header] + role + [end_header] + blank
    spans = []
    i = 0
    while i < len(ids):
        if ids[i : i + len(header)] == header:
            start = i + len(header)
            if eot in ids[start:]:
                end = ids.index(eot, start) + 1
                spans.append([start, end])
                i = end
                continue
        i += 1
    return spans


def main():
    ref = Llama3Reference()
    cases = []
    for name, messages in CASES:
        text = ref.render(messages)
        ids = ref.encode(text)
        cases.append({
            "name": name,
            "messages": messages,
            "text": text,
            "ids": ids,
            "assistant_spans": assistant_spans(ids, ref.tokenizer),
        })
        print(f"{name}: {len(ids)} tokens", file=sys.stderr)
    out = {
        "generator": "scripts/reference/text_reference_vectors.py",
        "tokenizers_version": tokenizers.__version__,
        "jinja2_version": jinja2.__version__,
        "tokenizer_json_sha256": hashlib.sha256((MODEL / "tokenizer.json").read_bytes()).hexdigest(),
        "python_isspace": [c for c in range(0x110000) if chr(c).isspace()],
        "cases": cases,
    }
    OUT.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
