//! The native part of the `eshm` Python package (imported as `eshm._eshm`; use `eshm`).
//!
//! One Rust file per Python class: `publisher`, `subscriber`, `channel`, `service_server`,
//! `service_request`, `service_client`, `action_server`, `server_goal`, `action_client`; every
//! exception in `errors`; arguments in `args`; value conversions in `codec`; the `wait`
//! keyword in `wait`; waiting without the GIL in `handle`; asyncio waits in `aio`; the schemas
//! of message types declared in Python in `declare`.

mod action_client;
mod action_server;
mod aio;
mod args;
mod array;
mod channel;
mod codec;
mod data;
mod declare;
mod enums;
mod errors;
mod handle;
mod loan;
mod ndarray;
mod publisher;
mod server_goal;
mod service_client;
mod service_request;
mod service_server;
mod subscriber;
mod wait;

use pyo3::prelude::*;

fn decode_schema(encoded: &[u8]) -> PyResult<eshm::Schema> {
    eshm::Schema::decode(encoded)
        .map_err(|e| errors::invalid_argument(format!("invalid schema: {e}")))
}

/// Checks an encoded schema and returns its fingerprint (FNV-1a of the bytes; see the Rust
/// documentation of `eshm::schema` for the format).
#[pyfunction]
fn schema_fingerprint(#[pyo3(from_py_with = args::bytes)] encoded: Vec<u8>) -> PyResult<u64> {
    decode_schema(&encoded).map(|s| s.fingerprint())
}

/// Checks an encoded schema and returns its readable definition.
#[pyfunction]
fn schema_definition(#[pyo3(from_py_with = args::bytes)] encoded: Vec<u8>) -> PyResult<String> {
    decode_schema(&encoded).map(|s| s.definition())
}

/// A topic name as SHM users write it: a leading `/` is ignored (`"/a/b"` is `"a/b"`).
fn topic_name(name: &str) -> &str {
    name.strip_prefix('/').filter(|rest| !rest.is_empty()).unwrap_or(name)
}

/// `cls[item]` for annotations (`eshm.Subscriber[float]`): a `types.GenericAlias`, as the
/// standard generic classes give.
fn generic_alias(
    cls: &Bound<'_, pyo3::types::PyType>,
    item: &Bound<'_, PyAny>,
) -> PyResult<Py<PyAny>> {
    let alias = cls.py().import("types")?.getattr("GenericAlias")?;
    Ok(alias.call1((cls, item))?.unbind())
}

/// Every topic and channel, as `eshm list --json` prints them (`eshm.list()` parses it).
#[pyfunction]
fn _list_json(py: Python<'_>) -> PyResult<String> {
    py.detach(eshm_cli::list_json).map_err(errors::to_py)
}

/// Removes what dead processes left behind (`eshm clean`): returns the files removed
/// (`path`, `kind`, `name`, `reason`), kept (`path`, `pid` of the live owner), failed (`path`,
/// `error`) and skipped (`path`, `reason`: not a segment), each a dict.
#[pyfunction]
#[pyo3(signature = (dry_run = false, include_corrupt = false))]
fn clean<'py>(
    py: Python<'py>,
    #[pyo3(from_py_with = args::flag)] dry_run: bool,
    #[pyo3(from_py_with = args::flag)] include_corrupt: bool,
) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
    use pyo3::types::{PyDict, PyList};
    let report =
        py.detach(|| eshm::inspect::clean(dry_run, include_corrupt)).map_err(errors::to_py)?;
    let removed = PyList::empty(py);
    for r in &report.removed {
        let d = PyDict::new(py);
        d.set_item("path", r.path.to_string_lossy())?;
        d.set_item("kind", r.segment.as_ref().map(|(k, _)| k.as_str()))?;
        d.set_item("name", r.segment.as_ref().map(|(_, n)| n.as_str()))?;
        d.set_item("reason", &r.reason)?;
        removed.append(d)?;
    }
    // Every entry is a dict with a "path", as `removed`'s are.
    let entries = |items: Vec<(String, &str, Bound<'py, PyAny>)>| -> PyResult<_> {
        let list = PyList::empty(py);
        for (path, key, value) in items {
            let d = PyDict::new(py);
            d.set_item("path", path)?;
            d.set_item(key, value)?;
            list.append(d)?;
        }
        Ok(list)
    };
    let path = |p: &std::path::Path| p.to_string_lossy().into_owned();
    let kept = entries(
        report
            .kept
            .iter()
            .map(|(p, pid)| Ok((path(p), "pid", pid.into_pyobject(py)?.into_any())))
            .collect::<PyResult<_>>()?,
    )?;
    let failed = entries(
        report
            .failed
            .iter()
            .map(|(p, why)| Ok((path(p), "error", why.into_pyobject(py)?.into_any())))
            .collect::<PyResult<_>>()?,
    )?;
    let skipped = entries(
        report
            .skipped
            .iter()
            .map(|(p, what)| Ok((path(p), "reason", what.into_pyobject(py)?.into_any())))
            .collect::<PyResult<_>>()?,
    )?;
    let out = PyDict::new(py);
    out.set_item("removed", removed)?;
    out.set_item("kept", kept)?;
    out.set_item("failed", failed)?;
    out.set_item("skipped", skipped)?;
    Ok(out)
}

/// Runs the `eshm` command line (`argv` with the program name first); returns its exit status.
#[pyfunction]
fn _cli_main(py: Python<'_>, argv: Vec<String>) -> u8 {
    py.detach(|| eshm_cli::run(argv).code())
}

#[pymodule]
fn _eshm(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    errors::register(m)?;
    handle::register_fork_hook(m)?;
    m.add_class::<handle::Closable>()?;
    enums::register(m)?;
    declare::register(m)?;
    m.add_class::<publisher::Publisher>()?;
    m.add_class::<subscriber::Subscriber>()?;
    m.add_class::<channel::Eshm>()?;
    m.add_class::<service_server::ServiceServer>()?;
    m.add_class::<service_request::ServiceRequest>()?;
    m.add_class::<service_client::ServiceClient>()?;
    m.add_class::<action_server::ActionServer>()?;
    m.add_class::<server_goal::ServerGoal>()?;
    m.add_class::<action_client::ActionClient>()?;
    m.add_class::<codec::ScalarType>()?;
    m.add_class::<array::Array>()?;
    m.add_class::<array::Slice>()?;
    m.add_class::<loan::Loan>()?;
    m.add_class::<ndarray::HeldSample>()?;
    m.add_class::<ndarray::SampleView>()?;
    for scalar in codec::ScalarType::all() {
        let name = scalar.name_str();
        m.add(name, Bound::new(py, scalar)?)?;
    }
    let msg = PyModule::new(py, "msg")?;
    eshm::python::add_msg_classes(&msg)?;
    m.add_submodule(&msg)?;
    m.add_function(wrap_pyfunction!(schema_fingerprint, m)?)?;
    m.add_function(wrap_pyfunction!(_list_json, m)?)?;
    m.add_function(wrap_pyfunction!(clean, m)?)?;
    m.add_function(wrap_pyfunction!(_cli_main, m)?)?;
    m.add_function(wrap_pyfunction!(schema_definition, m)?)?;
    aio::register_functions(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
