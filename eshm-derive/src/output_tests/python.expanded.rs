#[doc(hidden)]
#[allow(
    non_upper_case_globals,
    non_camel_case_types,
    non_snake_case,
    unused_qualifications,
    dead_code
)]
const _: () = {
    fn __eshm_assert_no_padding<F, const N: usize>()
    where
        (): my_eshm::__private::PaddingFree<Reading, F, N>,
    {}
    const __ESHM_PADDING_AFTER_0: usize = ::core::mem::size_of::<Reading>()
        - (::core::mem::offset_of!(Reading, value) + ::core::mem::size_of::<f64>());
    fn __eshm_layout_checks() {
        {
            enum value {}
            __eshm_assert_no_padding::<value, { __ESHM_PADDING_AFTER_0 }>();
        }
    }
    const __ESHM_FIELDS: &[my_eshm::schema::Field] = &[
        my_eshm::schema::Field::new(
            "value",
            ::core::mem::offset_of!(Reading, value),
            <f64 as my_eshm::Message>::SCHEMA,
        ),
    ];
    #[automatically_derived]
    /// # Safety: `#[derive(eshm::Message)]` checked the rules that make this sound.
    unsafe impl my_eshm::Message for Reading {
        const SCHEMA: &'static my_eshm::Schema = &my_eshm::Schema::structure(
            "Reading",
            ::core::mem::size_of::<Reading>(),
            ::core::mem::align_of::<Reading>(),
            __ESHM_FIELDS,
        );
        const INIT: Self = Reading {
            value: <f64 as my_eshm::Message>::INIT,
        };
        fn only_derive_is_allowed_to_implement_this_trait() {}
    }
    my_eshm::__eshm_require_python!();
    /// One reading (becomes the class's `__doc__`).
    #[my_eshm::__private::pyo3::pyclass(name = "Reading", frozen, module = "robot")]
    #[pyo3(crate = "my_eshm::__private::pyo3")]
    pub struct __EshmPyReading {
        storage: my_eshm::__private::python::Storage,
    }
    #[my_eshm::__private::pyo3::pymethods]
    #[pyo3(crate = "my_eshm::__private::pyo3")]
    impl __EshmPyReading {
        #[new]
        #[pyo3(signature = (**fields))]
        fn __eshm_new(
            fields: ::core::option::Option<
                &my_eshm::__private::pyo3::Bound<
                    '_,
                    my_eshm::__private::pyo3::types::PyDict,
                >,
            >,
        ) -> my_eshm::__private::pyo3::PyResult<Self> {
            let storage = my_eshm::__private::python::construct::<
                Reading,
            >(
                fields,
                |storage, name, value| match name {
                    "value" => {
                        ::core::option::Option::Some(
                            <f64 as my_eshm::__private::python::PyField>::set(
                                &storage
                                    .at(
                                        ::core::mem::offset_of!(Reading, value),
                                        ::core::mem::size_of::<f64>(),
                                    ),
                                value,
                            ),
                        )
                    }
                    _ => ::core::option::Option::None,
                },
            )?;
            ::core::result::Result::Ok(Self { storage })
        }
        /// The value, in volts (becomes the property's doc).
        #[getter(value)]
        fn __eshm_get_value(
            &self,
            py: my_eshm::__private::pyo3::Python<'_>,
        ) -> my_eshm::__private::pyo3::PyResult<
            my_eshm::__private::pyo3::Py<my_eshm::__private::pyo3::PyAny>,
        > {
            <f64 as my_eshm::__private::python::PyField>::get(
                py,
                &self
                    .storage
                    .at(
                        ::core::mem::offset_of!(Reading, value),
                        ::core::mem::size_of::<f64>(),
                    ),
            )
        }
        #[setter(value)]
        fn __eshm_set_value(
            &self,
            value: &my_eshm::__private::pyo3::Bound<'_, my_eshm::__private::pyo3::PyAny>,
        ) -> my_eshm::__private::pyo3::PyResult<()> {
            <f64 as my_eshm::__private::python::PyField>::set(
                &self
                    .storage
                    .at(
                        ::core::mem::offset_of!(Reading, value),
                        ::core::mem::size_of::<f64>(),
                    ),
                value,
            )
        }
        fn __repr__(&self) -> ::std::string::String {
            my_eshm::__private::python::repr(
                <Reading as my_eshm::Message>::SCHEMA,
                &self.storage,
            )
        }
        fn __eq__(
            &self,
            other: &my_eshm::__private::pyo3::Bound<'_, my_eshm::__private::pyo3::PyAny>,
        ) -> bool {
            my_eshm::__private::python::eq::<Reading>(&self.storage, other)
        }
        fn __copy__(&self) -> Self {
            Self {
                storage: my_eshm::__private::python::Storage::new(self.storage.to_vec()),
            }
        }
        fn __deepcopy__(
            &self,
            _memo: &my_eshm::__private::pyo3::Bound<'_, my_eshm::__private::pyo3::PyAny>,
        ) -> Self {
            self.__copy__()
        }
        /// Pickling: the class, no arguments, and the bytes as the state.
        fn __reduce__<'py>(
            slf: &my_eshm::__private::pyo3::Bound<'py, Self>,
        ) -> my_eshm::__private::pyo3::PyResult<
            my_eshm::__private::pyo3::Bound<
                'py,
                my_eshm::__private::pyo3::types::PyTuple,
            >,
        > {
            my_eshm::__private::python::reduce(slf.as_any(), &slf.get().storage)
        }
        /// Unpickling: the bytes (checked).
        fn __setstate__(&self, state: &[u8]) -> my_eshm::__private::pyo3::PyResult<()> {
            my_eshm::__private::python::set_state::<Reading>(&self.storage, state)
        }
        /// The message's bytes, as they are sent.
        fn to_bytes<'py>(
            &self,
            py: my_eshm::__private::pyo3::Python<'py>,
        ) -> my_eshm::__private::pyo3::Bound<
            'py,
            my_eshm::__private::pyo3::types::PyBytes,
        > {
            my_eshm::__private::python::to_bytes(py, &self.storage)
        }
        /// A message from its bytes (checked: length, `bool` and enum fields).
        #[classmethod]
        fn from_bytes(
            _cls: &my_eshm::__private::pyo3::Bound<
                '_,
                my_eshm::__private::pyo3::types::PyType,
            >,
            data: &[u8],
        ) -> my_eshm::__private::pyo3::PyResult<Self> {
            ::core::result::Result::Ok(Self {
                storage: my_eshm::__private::python::from_bytes::<Reading>(data)?,
            })
        }
        /// A message that views `SIZE` bytes of `buffer` at `offset`, without a copy (as
        /// `ctypes`' `from_buffer`): setting a field writes into `buffer` (refused if it is
        /// read-only), and the message reads what `buffer` holds now. Checked as
        /// `from_bytes` checks, when made.
        #[classmethod]
        #[pyo3(signature = (buffer, offset = 0))]
        fn from_buffer(
            _cls: &my_eshm::__private::pyo3::Bound<
                '_,
                my_eshm::__private::pyo3::types::PyType,
            >,
            buffer: &my_eshm::__private::pyo3::Bound<
                '_,
                my_eshm::__private::pyo3::PyAny,
            >,
            offset: i64,
        ) -> my_eshm::__private::pyo3::PyResult<Self> {
            ::core::result::Result::Ok(Self {
                storage: my_eshm::__private::python::from_buffer::<
                    Reading,
                >(buffer, offset)?,
            })
        }
        #[classattr]
        #[allow(non_snake_case)]
        fn FINGERPRINT() -> u64 {
            <Reading as my_eshm::Message>::SCHEMA.fingerprint()
        }
        #[classattr]
        #[allow(non_snake_case)]
        fn SCHEMA() -> ::std::string::String {
            <Reading as my_eshm::Message>::SCHEMA.definition()
        }
        #[classattr]
        #[allow(non_snake_case)]
        fn SCHEMA_BYTES(
            py: my_eshm::__private::pyo3::Python<'_>,
        ) -> my_eshm::__private::pyo3::Py<my_eshm::__private::pyo3::types::PyBytes> {
            my_eshm::__private::python::schema_bytes(
                py,
                <Reading as my_eshm::Message>::SCHEMA,
            )
        }
        #[classattr]
        #[allow(non_snake_case)]
        fn SIZE() -> usize {
            ::core::mem::size_of::<Reading>()
        }
    }
    #[automatically_derived]
    impl my_eshm::__private::python::PyField for Reading {
        fn get(
            py: my_eshm::__private::pyo3::Python<'_>,
            storage: &my_eshm::__private::python::Storage,
        ) -> my_eshm::__private::pyo3::PyResult<
            my_eshm::__private::pyo3::Py<my_eshm::__private::pyo3::PyAny>,
        > {
            my_eshm::__private::python::field_get::<Reading>(py, storage)
        }
        fn set(
            storage: &my_eshm::__private::python::Storage,
            value: &my_eshm::__private::pyo3::Bound<'_, my_eshm::__private::pyo3::PyAny>,
        ) -> my_eshm::__private::pyo3::PyResult<()> {
            my_eshm::__private::python::field_set::<Reading>(storage, value)
        }
    }
    #[automatically_derived]
    impl my_eshm::__private::python::PyMessage for Reading {
        type Class = __EshmPyReading;
        fn storage(object: &__EshmPyReading) -> &my_eshm::__private::python::Storage {
            &object.storage
        }
        fn new_object(
            py: my_eshm::__private::pyo3::Python<'_>,
            storage: my_eshm::__private::python::Storage,
        ) -> my_eshm::__private::pyo3::PyResult<
            my_eshm::__private::pyo3::Py<my_eshm::__private::pyo3::PyAny>,
        > {
            ::core::result::Result::Ok(
                my_eshm::__private::pyo3::Py::new(py, __EshmPyReading { storage })?
                    .into_any(),
            )
        }
    }
};
