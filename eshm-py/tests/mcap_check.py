"""What third-party tools make of an MCAP file that `eshm record` wrote (used by test_mcap.py).

- `decoded(path)`: every message decoded by `mcap_ros2.decoder.DecoderFactory`, the ROS 2 CDR
  decoder of the `mcap-ros2-support` package (the Python side of what Foxglove does), and
  re-encoded by its serializer: the bytes must come back as recorded (the decoder itself never
  checks that it consumed a whole payload, so this is what catches a layout mismatch).
- `foxglove_problems(text)`: what Foxglove's and Lichtblick's ros2msg parser
  (`@foxglove/rosmsg`, ROS 2 mode) would reject in a schema: its line, field and constant
  rules, and its resolution of `pkg/Type` by name suffix. The two parsers differ, so both are
  checked.

`mcap_ros2._dynamic.serialize_dynamic` is private: test.sh pins the package versions.
"""

import re

from mcap.reader import make_reader
from mcap_ros2._dynamic import serialize_dynamic
from mcap_ros2.decoder import DecoderFactory

_FIELD = re.compile(r"^[a-z](?:_?[a-z0-9]+)*$")
_CONSTANT = re.compile(r"^[A-Z](?:_?[A-Z0-9]+)*$")
_LINE = re.compile(
    r"^(?P<type>[a-zA-Z0-9_/]+)(?:\[(?P<len><=)?\d*\])?\s+(?P<name>[a-zA-Z0-9_]+)"
    r"(?:\s*=\s*(?P<value>[^#]*?))?\s*(?:#.*)?$"
)
_BUILTIN = {
    "bool", "byte", "char", "float32", "float64", "int8", "uint8", "int16", "uint16",
    "int32", "uint32", "int64", "uint64", "string", "wstring",
}


def foxglove_problems(text):
    """What Foxglove's ros2msg parser would reject in `text` (an empty list when nothing)."""
    problems = []
    definitions = []  # (name, [complex field types])
    name, types = None, []
    for raw in text.split("\n"):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("=="):
            definitions.append((name, types))
            name, types = None, []
            continue
        m = re.match(r"^MSG: ([^ ]+)\s*(?:#.+)?$", line)
        if m:
            name = m.group(1)
            continue
        m = _LINE.match(line)
        if not m:
            problems.append(f"cannot parse {line!r}")
            continue
        if m.group("type") in ("byte", "char"):
            problems.append(f"{line!r}: byte and char mean different things to the two parsers")
        rule = _CONSTANT if m.group("value") is not None else _FIELD
        if not rule.match(m.group("name")):
            problems.append(f"{line!r}: invalid name {m.group('name')!r}")
        if m.group("type") not in _BUILTIN:
            types.append(m.group("type"))
    definitions.append((name, types))
    for _, types in definitions:
        for t in types:
            suffix = t if "/" in t else "/" + t
            found = [n for n, _ in definitions if n is not None and n.endswith(suffix)]
            if len(found) != 1:
                problems.append(f"type {t!r} resolves to {found}")
    return problems


def plain(value):
    """A decoded ROS 2 message as plain data: dicts, lists, numbers; uint8 arrays as lists."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return list(bytes(value))
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    slots = getattr(type(value), "__slots__", None)
    if slots is not None and hasattr(type(value), "_type"):
        return {name: plain(getattr(value, name)) for name in slots}
    if hasattr(value, "tolist"):  # array.array
        return value.tolist()
    return value


def read(path):
    """(summary, metadata records by name, messages) of a finished file; each message a dict
    with topic, log_time, sequence, schema name and decoded fields."""
    encoders = {}
    messages = []
    with open(path, "rb") as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory()])
        summary = reader.get_summary()
        metadata = {m.name: dict(m.metadata) for m in reader.iter_metadata()}
        for schema, channel, message, decoded in reader.iter_decoded_messages():
            encode = encoders.get(schema.id)
            if encode is None:
                encode = serialize_dynamic(schema.name, schema.data.decode())[schema.name]
                encoders[schema.id] = encode
            again = encode(decoded)
            assert again == bytes(message.data), (
                f"{channel.topic}: re-encoded {again.hex()} != recorded {bytes(message.data).hex()}"
            )
            messages.append({
                "topic": channel.topic,
                "log_time": message.log_time,
                "publish_time": message.publish_time,
                "sequence": message.sequence,
                "schema": schema.name,
                "fields": plain(decoded),
            })
    return summary, metadata, messages
