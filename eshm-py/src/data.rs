//! The key/value messages of `ESHM.write_data` and `ESHM.read_data`: a `dict` of `str` keys
//! and `bool`, `int`, `float`, `str` or `bytes` values in one channel message. (eshm's own
//! compact encoding; the original library used ASN.1 DER and only read it from Python.)
//!
//! ```text
//! message = magic:"ED" version:0x01 count:u16 item*count
//! item    = key_len:u8 key:utf-8 tag:u8 value
//! value   = (tag 0 false | 1 true: nothing) | 2 int: i64 | 3 float: f64
//!         | 4 str: len:u32 utf-8 | 5 bytes: len:u32 bytes         (little-endian)
//! ```

use crate::errors::{argument_type, invalid_argument, invalid_message, ours};
use pyo3::buffer::PyBuffer;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyString};

const MAGIC: &[u8; 3] = b"ED\x01";

/// The message holding `mapping`. A mapping, key or value of a type it cannot hold raises
/// `ArgumentTypeError`; a key too long or an integer out of the i64 range
/// `InvalidArgumentError` (`OutOfRangeError`).
pub(crate) fn encode(mapping: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    let py = mapping.py();
    let not_mapping = || {
        let kind = mapping.get_type().name().map(|n| n.to_string()).unwrap_or_default();
        argument_type(format!("write_data takes a mapping (a dict), not {kind}"))
    };
    let items = match mapping.getattr("items") {
        Ok(items) if items.is_callable() => items.call0()?,
        _ => return Err(not_mapping()),
    };
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&[0, 0]);
    let mut count = 0u16;
    for item in items.try_iter()? {
        let (key, value): (Bound<'_, PyAny>, Bound<'_, PyAny>) =
            item?.extract().map_err(|e| ours(py, e))?;
        let Ok(key) = key.cast::<PyString>() else {
            return Err(argument_type(format!("keys must be str, not {}", key.get_type().name()?)));
        };
        let key = key
            .to_str()
            .map_err(|e| invalid_argument(format!("a key is not UTF-8: {e}")))?
            .to_owned();
        if key.is_empty() || key.len() > 255 {
            return Err(invalid_argument(format!("key {key:?} must be 1 to 255 bytes of UTF-8")));
        }
        count = count
            .checked_add(1)
            .ok_or_else(|| invalid_argument("at most 65535 items fit in one message".into()))?;
        out.push(key.len() as u8);
        out.extend_from_slice(key.as_bytes());
        if let Ok(b) = value.cast::<PyBool>() {
            out.push(u8::from(b.is_true()));
        } else if value.is_instance_of::<PyInt>() {
            out.push(2);
            out.extend_from_slice(&value.extract::<i64>().map_err(|e| ours(py, e))?.to_le_bytes());
        } else if value.is_instance_of::<PyFloat>() {
            out.push(3);
            out.extend_from_slice(&value.extract::<f64>().map_err(|e| ours(py, e))?.to_le_bytes());
        } else if let Ok(s) = value.cast::<PyString>() {
            let s = s.to_str().map_err(|e| invalid_argument(format!("value of {key:?}: {e}")))?;
            push_bytes(&mut out, 4, s.as_bytes())?;
        } else if let Ok(buffer) = PyBuffer::<u8>::get(&value) {
            // Any bytes-like object: bytes, bytearray, memoryview.
            push_bytes(&mut out, 5, &buffer.to_vec(value.py())?)?;
        } else {
            return Err(argument_type(format!(
                "value of {key:?} must be bool, int, float, str or bytes, not {}",
                value.get_type().name()?
            )));
        }
    }
    out[3..5].copy_from_slice(&count.to_le_bytes());
    Ok(out)
}

fn push_bytes(out: &mut Vec<u8>, tag: u8, bytes: &[u8]) -> PyResult<()> {
    let len = u32::try_from(bytes.len())
        .map_err(|_| invalid_argument("a value of 4 GiB or more does not fit".into()))?;
    out.push(tag);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(bytes);
    Ok(())
}

/// The `dict` in `message` (its first `max_items` items); `InvalidMessageError` if `message`
/// is not a `write_data` message.
pub(crate) fn decode<'py>(
    py: Python<'py>,
    message: &[u8],
    max_items: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let bad = |what: &str| invalid_message(format!("not a write_data message: {what}"));
    let mut r = Reader { bytes: message, pos: 0 };
    if r.take(3).ok() != Some(&MAGIC[..]) {
        return Err(bad("it does not start with the data marker"));
    }
    let count = u16::from_le_bytes(r.array().map_err(|()| bad("truncated"))?);
    let out = PyDict::new(py);
    for _ in 0..usize::from(count).min(max_items) {
        let key_len = usize::from(r.take(1).map_err(|()| bad("truncated"))?[0]);
        let key = std::str::from_utf8(r.take(key_len).map_err(|()| bad("truncated"))?)
            .map_err(|_| bad("a key is not UTF-8"))?;
        let tag = r.take(1).map_err(|()| bad("truncated"))?[0];
        let value: Bound<'py, PyAny> = match tag {
            0 | 1 => PyBool::new(py, tag == 1).to_owned().into_any(),
            2 => i64::from_le_bytes(r.array().map_err(|()| bad("truncated"))?)
                .into_pyobject(py)?
                .into_any(),
            3 => PyFloat::new(py, f64::from_le_bytes(r.array().map_err(|()| bad("truncated"))?))
                .into_any(),
            4 | 5 => {
                let len = u32::from_le_bytes(r.array().map_err(|()| bad("truncated"))?) as usize;
                let bytes = r.take(len).map_err(|()| bad("truncated"))?;
                if tag == 4 {
                    PyString::new(
                        py,
                        std::str::from_utf8(bytes).map_err(|_| bad("a str is not UTF-8"))?,
                    )
                    .into_any()
                } else {
                    PyBytes::new(py, bytes).into_any()
                }
            }
            other => return Err(bad(&format!("unknown value tag {other}"))),
        };
        out.set_item(key, value)?;
    }
    Ok(out)
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ()> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len()).ok_or(())?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], ()> {
        self.take(N).map(|s| s.try_into().expect("N bytes"))
    }
}
