// Nested structs, arrays of structs, bool and enum fields, a struct whose field type comes from
// a module of another crate, and a struct defined inside a module.
use eshm::Message;
use eshm::schema::Kind;

mod sensors {
    #[derive(Clone, Copy, Debug, PartialEq, eshm::Message)]
    #[repr(u8)]
    pub enum Status {
        Ok = 0,
        Degraded = 1,
        Failed = 200,
    }

    #[derive(Clone, Copy, Debug, PartialEq, eshm::Message)]
    #[repr(C)]
    pub struct Wheel {
        pub speed: f32,
        pub status: Status,
        pub slipping: bool,
        pub _pad: [u8; 2],
    }
}

#[derive(Clone, Copy, Debug, PartialEq, eshm::Message)]
#[repr(C)]
struct Odometry {
    stamp_ns: u64,
    position: eshm_tests::geometry::Vec2,
    wheels: [sensors::Wheel; 4],
    history: [[f32; 2]; 3],
}

#[derive(Clone, Copy, Debug, PartialEq, eshm::Message)]
#[repr(i16)]
enum Signed {
    Minus = -3,
    Zero = 0,
}

#[derive(Clone, Copy, Debug, PartialEq, eshm::Message)]
#[repr(transparent)]
struct Meters {
    value: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, eshm::Message)]
#[repr(C, align(16))]
struct Aligned {
    a: [u64; 2],
}

#[derive(Clone, Copy, Debug, PartialEq, eshm::Message)]
#[repr(C)]
struct RawIdent {
    r#type: u8,
}

const ODOMETRY_FINGERPRINT: u64 = Odometry::SCHEMA.fingerprint();

fn main() {
    let schema = Odometry::SCHEMA;
    assert_eq!(schema.size(), size_of::<Odometry>());
    assert_eq!(schema.fingerprint(), ODOMETRY_FINGERPRINT);
    let Kind::Struct { fields, .. } = schema.kind() else { panic!("not a struct") };
    assert_eq!(fields[2].schema().type_name(), "[Wheel; 4]");
    assert_eq!(fields[2].offset(), std::mem::offset_of!(Odometry, wheels));
    assert_eq!(Odometry::INIT.wheels[3].status, sensors::Status::Ok);
    assert_eq!(Signed::INIT, Signed::Minus);
    assert_eq!(Signed::SCHEMA.init_bytes(), (-3i16).to_le_bytes());
    assert_eq!(Meters::SCHEMA.size(), 8);
    assert_eq!(Aligned::SCHEMA.align(), 16);
    assert_eq!(RawIdent::SCHEMA.definition().lines().nth(2).unwrap().trim_start().split(':').next(), Some("type"));
    assert_eq!(eshm::Schema::decode(&schema.encode()).unwrap(), *schema);
}
