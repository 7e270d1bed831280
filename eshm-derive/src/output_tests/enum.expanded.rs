#[doc(hidden)]
#[allow(
    non_upper_case_globals,
    non_camel_case_types,
    non_snake_case,
    unused_qualifications,
    dead_code
)]
const _: () = {
    const __ESHM_VARIANTS: &[::eshm::schema::Variant] = &[
        ::eshm::schema::Variant::new("Idle", Mode::Idle as i64),
        ::eshm::schema::Variant::new("Run", Mode::Run as i64),
        ::eshm::schema::Variant::new("Fault", Mode::Fault as i64),
    ];
    #[automatically_derived]
    /// # Safety: `#[derive(eshm::Message)]` checked the rules that make this sound.
    unsafe impl ::eshm::Message for Mode {
        const SCHEMA: &'static ::eshm::Schema = &::eshm::Schema::enumeration(
            "Mode",
            ::eshm::schema::Primitive::U8,
            __ESHM_VARIANTS,
        );
        const INIT: Self = Mode::Idle;
        fn only_derive_is_allowed_to_implement_this_trait() {}
    }
};
