//! The native part of the `eshm` Python package (imported as `eshm._eshm`; use `eshm`).
//!
//! One Rust file per Python class: `publisher`, `subscriber`, `channel`; every exception in
//! `errors`; value conversions in `codec`; waiting without the GIL in `wait`.

mod channel;
mod codec;
mod errors;
mod publisher;
mod subscriber;
mod wait;

use pyo3::prelude::*;

fn decode_schema(encoded: &[u8]) -> PyResult<eshm::Schema> {
    eshm::Schema::decode(encoded)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(format!("invalid schema: {e}")))
}

/// Checks an encoded schema and returns its fingerprint (FNV-1a of the bytes; see the Rust
/// documentation of `eshm::schema` for the format).
#[pyfunction]
fn schema_fingerprint(encoded: &[u8]) -> PyResult<u64> {
    decode_schema(encoded).map(|s| s.fingerprint())
}

/// Checks an encoded schema and returns its readable definition.
#[pyfunction]
fn schema_definition(encoded: &[u8]) -> PyResult<String> {
    decode_schema(encoded).map(|s| s.definition())
}

/// Message types with every kind of field (arrays of numbers and of messages, `bool`, an
/// enum, small integers), for the test suite: `eshm._eshm._testing`.
mod testing {
    /// An enum field.
    #[derive(Clone, Copy, Debug, eshm::Message)]
    #[eshm(python)]
    #[repr(u8)]
    pub(crate) enum Mode {
        Idle = 0,
        Run = 1,
        Fault = 7,
    }

    /// One of each.
    #[derive(Clone, Copy, Debug, eshm::Message)]
    #[eshm(python(module = "eshm._eshm._testing"))]
    #[repr(C)]
    pub(crate) struct Sample {
        pub(crate) stamp_ns: u64,
        pub(crate) points: [eshm::msg::Vector3; 2],
        pub(crate) values: [f32; 3],
        pub(crate) counts: [u16; 2],
        pub(crate) valid: bool,
        pub(crate) mode: Mode,
        pub(crate) small: i8,
        pub(crate) _pad: [u8; 5],
    }
}

#[pymodule]
fn _eshm(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    errors::register(m)?;
    channel::register_enums(m)?;
    m.add_class::<publisher::Publisher>()?;
    m.add_class::<subscriber::Subscriber>()?;
    m.add_class::<channel::Eshm>()?;
    m.add_class::<codec::ScalarType>()?;
    for scalar in codec::ScalarType::all() {
        let name = scalar.name_str();
        m.add(name, Bound::new(py, scalar)?)?;
    }
    let msg = PyModule::new(py, "msg")?;
    eshm::python::add_msg_classes(&msg)?;
    m.add_submodule(&msg)?;
    let testing = PyModule::new(py, "_testing")?;
    eshm::python::add_class::<testing::Sample>(&testing)?;
    // An attribute, not an export: test-only, and out of `__all__` and the stubs.
    m.setattr("_testing", testing)?;
    m.add_function(wrap_pyfunction!(schema_fingerprint, m)?)?;
    m.add_function(wrap_pyfunction!(schema_definition, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
