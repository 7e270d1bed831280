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
        (): ::eshm::__private::PaddingFree<Imu, F, N>,
    {}
    const __ESHM_PADDING_AFTER_0: usize = ::core::mem::offset_of!(Imu, accel)
        - (::core::mem::offset_of!(Imu, stamp_ns) + ::core::mem::size_of::<u64>());
    const __ESHM_PADDING_AFTER_1: usize = ::core::mem::offset_of!(Imu, valid)
        - (::core::mem::offset_of!(Imu, accel) + ::core::mem::size_of::<[f32; 3]>());
    const __ESHM_PADDING_AFTER_2: usize = ::core::mem::offset_of!(Imu, _pad)
        - (::core::mem::offset_of!(Imu, valid) + ::core::mem::size_of::<bool>());
    const __ESHM_PADDING_AFTER_3: usize = ::core::mem::size_of::<Imu>()
        - (::core::mem::offset_of!(Imu, _pad) + ::core::mem::size_of::<[u8; 3]>());
    fn __eshm_layout_checks() {
        {
            enum stamp_ns {}
            __eshm_assert_no_padding::<stamp_ns, { __ESHM_PADDING_AFTER_0 }>();
        }
        {
            enum accel {}
            __eshm_assert_no_padding::<accel, { __ESHM_PADDING_AFTER_1 }>();
        }
        {
            enum valid {}
            __eshm_assert_no_padding::<valid, { __ESHM_PADDING_AFTER_2 }>();
        }
        {
            enum _pad {}
            __eshm_assert_no_padding::<_pad, { __ESHM_PADDING_AFTER_3 }>();
        }
    }
    const __ESHM_FIELDS: &[::eshm::schema::Field] = &[
        ::eshm::schema::Field::new(
            "stamp_ns",
            ::core::mem::offset_of!(Imu, stamp_ns),
            <u64 as ::eshm::Message>::SCHEMA,
        ),
        ::eshm::schema::Field::new(
            "accel",
            ::core::mem::offset_of!(Imu, accel),
            <[f32; 3] as ::eshm::Message>::SCHEMA,
        ),
        ::eshm::schema::Field::new(
            "valid",
            ::core::mem::offset_of!(Imu, valid),
            <bool as ::eshm::Message>::SCHEMA,
        ),
        ::eshm::schema::Field::new(
            "_pad",
            ::core::mem::offset_of!(Imu, _pad),
            <[u8; 3] as ::eshm::Message>::SCHEMA,
        ),
    ];
    #[automatically_derived]
    /// # Safety: `#[derive(eshm::Message)]` checked the rules that make this sound.
    unsafe impl ::eshm::Message for Imu {
        const SCHEMA: &'static ::eshm::Schema = &::eshm::Schema::structure(
            "Imu",
            ::core::mem::size_of::<Imu>(),
            ::core::mem::align_of::<Imu>(),
            __ESHM_FIELDS,
        );
        const INIT: Self = Imu {
            stamp_ns: <u64 as ::eshm::Message>::INIT,
            accel: <[f32; 3] as ::eshm::Message>::INIT,
            valid: <bool as ::eshm::Message>::INIT,
            _pad: <[u8; 3] as ::eshm::Message>::INIT,
        };
        fn only_derive_is_allowed_to_implement_this_trait() {}
    }
};
