//! The gateway's checkpoints: the detectors' state, the admission watermarks and the events not
//! yet confirmed by their rooms, written durably. The gateway acknowledges telemetry to the
//! broker only once a checkpoint covers it, so a gateway killed in the middle of a detection
//! (a zone crossing being confirmed, a hard brake waiting for its stop, a jam's speed window)
//! restarts from its last checkpoint, and the broker delivers again what came after it: handled
//! once more, it gives the same events under the same ids (`detect::identified`).

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use vigie_model::Event;

use crate::detect::DetectorState;

/// What a checkpoint file starts with, then its version, then its body: postcard, a compact
/// binary serde format (floats bit for bit), about half the size of JSON and several times
/// faster to write, which matters at 100,000 vehicles (docs/benchmarks/pipeline.md).
const MAGIC: &[u8] = b"vigie-gateway-checkpoint\n";

/// Bumped when the layout changes: a checkpoint of another version is not used. 2: the speed
/// windows packed (`packed_speeds`).
const VERSION: u32 = 2;

#[derive(Serialize, Deserialize)]
pub struct Checkpoint<'a> {
    pub detector: DetectorState<'a>,
    /// Each vehicle's latest admitted telemetry time: what comes again up to it is dropped.
    pub admitted: Cow<'a, HashMap<String, i64>>,
    /// The newest telemetry time admitted, and when the detectors last expired incidents.
    pub latest_ms: i64,
    pub expired_ms: i64,
    /// Events sent but not yet confirmed: sent again after a restart.
    pub unconfirmed: Vec<Event>,
}

impl<'a> Checkpoint<'a> {
    pub fn new(
        detector: DetectorState<'a>,
        admitted: &'a HashMap<String, i64>,
        (latest_ms, expired_ms): (i64, i64),
        unconfirmed: Vec<Event>,
    ) -> Checkpoint<'a> {
        Checkpoint {
            detector,
            admitted: Cow::Borrowed(admitted),
            latest_ms,
            expired_ms,
            unconfirmed,
        }
    }

    pub fn to_bytes(&self) -> postcard::Result<Vec<u8>> {
        let mut bytes = MAGIC.to_vec();
        bytes.extend(postcard::to_stdvec(&VERSION)?);
        postcard::to_io(self, &mut bytes)?;
        Ok(bytes)
    }

    pub fn from_bytes(bytes: &[u8]) -> anyhow::Result<Checkpoint<'static>> {
        let versioned = bytes.strip_prefix(MAGIC).context("not a checkpoint")?;
        let (version, body) = postcard::take_from_bytes::<u32>(versioned).context("no version")?;
        anyhow::ensure!(
            version == VERSION,
            "a checkpoint of version {version}, not {VERSION}"
        );
        let (checkpoint, rest) = postcard::take_from_bytes(body).context("a damaged checkpoint")?;
        anyhow::ensure!(
            rest.is_empty(),
            "a damaged checkpoint: {} bytes too many",
            rest.len()
        );
        Ok(checkpoint)
    }
}

/// The checkpoint at `path`, if there is one.
pub fn read(path: &Path) -> anyhow::Result<Option<Checkpoint<'static>>> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error).with_context(|| format!("reading {}", path.display())),
    };
    Checkpoint::from_bytes(&bytes)
        .with_context(|| format!("reading {}", path.display()))
        .map(Some)
}

/// Replaces the checkpoint at `path` with `bytes`, durably: written beside it, synced, renamed
/// over it and the directory synced, so a crash at any point leaves the old one or the new one.
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut staging = path.as_os_str().to_owned();
    staging.push(".new");
    let staging = PathBuf::from(staging);
    let mut file = std::fs::File::create(&staging)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&staging, path)?;
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    std::fs::File::open(directory)?.sync_all()
}

/// A vehicle's speed window, packed as one byte string: with 100,000 vehicles the windows are
/// most of a checkpoint, and postcard writes a field at a time. Each sample is its time as the
/// zigzag LEB128 of its distance from the one before (2 bytes at one fix a second), then its
/// speed's 8 bytes, bit for bit.
pub(crate) mod packed_speeds {
    use std::collections::VecDeque;
    use std::fmt;

    use serde::de::{Error, Visitor};
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        speeds: &VecDeque<(i64, f64)>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let mut bytes = Vec::with_capacity(speeds.len() * 11);
        let mut previous = 0i64;
        for &(at_ms, speed) in speeds {
            let step = at_ms.wrapping_sub(previous);
            let mut zigzag = ((step << 1) ^ (step >> 63)) as u64;
            while zigzag >= 0x80 {
                bytes.push(zigzag as u8 | 0x80);
                zigzag >>= 7;
            }
            bytes.push(zigzag as u8);
            bytes.extend_from_slice(&speed.to_le_bytes());
            previous = at_ms;
        }
        serializer.serialize_bytes(&bytes)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<VecDeque<(i64, f64)>, D::Error> {
        deserializer.deserialize_bytes(Packed)
    }

    struct Packed;

    impl Visitor<'_> for Packed {
        type Value = VecDeque<(i64, f64)>;

        fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
            formatter.write_str("a packed speed window")
        }

        fn visit_bytes<E: Error>(self, mut bytes: &[u8]) -> Result<Self::Value, E> {
            let mut speeds = VecDeque::new();
            let mut previous = 0i64;
            while !bytes.is_empty() {
                let mut zigzag = 0u64;
                let mut shift = 0;
                loop {
                    let (&byte, rest) = bytes
                        .split_first()
                        .ok_or_else(|| E::custom("a speed window cut short"))?;
                    bytes = rest;
                    // The tenth byte holds the 64th bit alone.
                    if shift > 63 || (shift == 63 && byte > 1) {
                        return Err(E::custom("a speed window's time is too long"));
                    }
                    zigzag |= u64::from(byte & 0x7f) << shift;
                    shift += 7;
                    if byte < 0x80 {
                        break;
                    }
                }
                let step = (zigzag >> 1) as i64 ^ -((zigzag & 1) as i64);
                let (speed, rest) = bytes
                    .split_first_chunk::<8>()
                    .ok_or_else(|| E::custom("a speed window cut short"))?;
                bytes = rest;
                previous = previous.wrapping_add(step);
                speeds.push_back((previous, f64::from_le_bytes(*speed)));
            }
            Ok(speeds)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{Detector, Thresholds};
    use serde::{Deserialize, Serialize};
    use sha2::{Digest, Sha256};
    use std::collections::VecDeque;
    use vigie_model::{City, Telemetry};

    const T0: i64 = 1_764_000_000_000;

    /// A checkpoint with one vehicle (so its maps have one order) in a crash, the crash's
    /// event unconfirmed: every kind of field the format holds.
    fn one_crash() -> (Detector, HashMap<String, i64>, Vec<Event>) {
        let mut detector = Detector::new(City::builtin(), Thresholds::default());
        let fix = |second: i64, speed_kmh: f64, flags: Vec<String>| Telemetry {
            ts: T0 + second * 1000,
            lat: 45.760_123_456_789_01,
            lon: 4.835_987_654_321_09,
            speed_kmh,
            heading: 90.0,
            flags,
        };
        detector.observe("v1", &fix(0, 42.5, Vec::new()));
        let events = detector.observe("v1", &fix(1, 0.0, vec!["crash".into()]));
        assert_eq!(events.len(), 1);
        (
            detector,
            HashMap::from([("v1".to_owned(), T0 + 1000)]),
            events,
        )
    }

    #[test]
    fn a_written_checkpoint_reads_back_and_a_foreign_file_is_an_error() {
        let dir = std::env::temp_dir().join(format!("vigie-checkpoint-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("gateway.state");
        assert!(read(&path).unwrap().is_none(), "no checkpoint yet");

        let (detector, admitted, events) = one_crash();
        let times = (T0 + 1000, T0);
        let checkpoint = Checkpoint::new(detector.state(), &admitted, times, events.clone());
        let bytes = checkpoint.to_bytes().unwrap();
        write(&path, &bytes).unwrap();
        write(&path, &bytes).unwrap();
        let back = read(&path).unwrap().expect("the checkpoint");
        assert_eq!(*back.admitted, admitted);
        assert_eq!((back.latest_ms, back.expired_ms), times);
        assert_eq!(back.unconfirmed, events);
        assert!(!dir.join("gateway.state.new").exists());

        let expect_error = |bytes: &[u8], message: &str| {
            std::fs::write(&path, bytes).unwrap();
            let error = format!("{:#}", read(&path).err().expect(message));
            assert!(error.contains(message), "{error}");
        };
        expect_error(b"{\"version\": 1}", "not a checkpoint");
        let mut other_version = bytes.clone();
        other_version[MAGIC.len()] = 0;
        expect_error(&other_version, "version 0");
        expect_error(&bytes[..bytes.len() - 1], "a damaged checkpoint");
        expect_error(&[&bytes[..], b"?"].concat(), "1 bytes too many");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_packed_speed_window_reads_back_bit_for_bit_and_a_cut_one_is_an_error() {
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct Window(#[serde(with = "packed_speeds")] VecDeque<(i64, f64)>);

        let window = Window(VecDeque::from([
            (T0, 42.5),
            (T0 + 1000, -0.0),
            (T0 - 7, f64::from_bits(0x7ff8_0000_0000_0001)),
            (i64::MIN, f64::MAX),
            (i64::MAX, 1e-310),
        ]));
        let bytes = postcard::to_stdvec(&window).unwrap();
        let back: Window = postcard::from_bytes(&bytes).unwrap();
        let bits = |w: &Window| {
            w.0.iter()
                .map(|(t, s)| (*t, s.to_bits()))
                .collect::<Vec<_>>()
        };
        assert_eq!(bits(&back), bits(&window));

        let one_fix = postcard::to_stdvec(&Window(VecDeque::from([(1, 2.0)]))).unwrap();
        assert_eq!(
            one_fix.len(),
            1 + 1 + 8,
            "length, the time's step, the speed"
        );
        let mut cut = one_fix.clone();
        cut[0] -= 1; // the byte string says it ends a byte early
        cut.pop();
        let error = postcard::from_bytes::<Window>(&cut).unwrap_err();
        assert!(format!("{error:?}").contains("Custom"), "{error:?}");
        // A time step whose tenth byte says more than the 64th bit.
        let overlong = [&[18u8][..], &[0xff; 9], &[0x02], &[0; 8]].concat();
        assert!(postcard::from_bytes::<Window>(&overlong).is_err());
        let widest = [&[18u8][..], &[0xff; 9], &[0x01], &[0; 8]].concat();
        assert!(
            postcard::from_bytes::<Window>(&widest).is_ok(),
            "i64::MIN's step fits"
        );
    }

    /// Postcard stores fields by position and variants by number: a field moved or a variant
    /// reordered (here, or in `vigie_model::Event` and its enums) would read an old checkpoint
    /// back wrong, silently. Such a change must bump `VERSION`, then update this digest.
    #[test]
    fn the_layout_is_pinned_to_its_version() {
        let (detector, admitted, events) = one_crash();
        let checkpoint = Checkpoint::new(detector.state(), &admitted, (T0 + 1000, T0), events);
        let digest = format!("{:x}", Sha256::digest(checkpoint.to_bytes().unwrap()));
        assert_eq!(
            (VERSION, digest.as_str()),
            (
                2,
                "e2faa36b72e463b39d8f02241ddb2bc380df56e63222619ad9b0765ecec79cff"
            )
        );
    }
}
