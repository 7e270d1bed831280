//! The message types of the `calc/add` service, shared by `service_server` and
//! `service_client` (in a real project: a crate both depend on).

/// Two numbers to add.
#[derive(Clone, Copy, Debug, PartialEq, eshm::Message)]
#[repr(C)]
pub(crate) struct AddRequest {
    /// The first number.
    pub(crate) a: i64,
    /// The second number.
    pub(crate) b: i64,
}

/// Their sum.
#[derive(Clone, Copy, Debug, PartialEq, eshm::Message)]
#[repr(C)]
pub(crate) struct AddResponse {
    /// `a + b`.
    pub(crate) sum: i64,
}
