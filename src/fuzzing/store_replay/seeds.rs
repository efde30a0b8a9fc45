//! The seed corpus of `store_replay`: histories that reach every state of both machines,
//! with restarts in the middle of them.

use super::super::Seed;
use super::super::bytes::SeedWriter;

/// Step writers (see `Step::read`).
fn input(w: &mut SeedWriter, machine: u8, template: u8) {
    w.u8(0).u8(machine).u8(template);
}

/// Every seed, by file name.
pub fn seeds() -> Vec<Seed> {
    let mut seeds = Vec::new();
    for (name, preset) in [("seed-walk-default", 2), ("seed-walk-pruned-small-map", 4)] {
        let mut w = SeedWriter::default();
        w.u8(preset);
        for round in 0..40u8 {
            for machine in 0..3 {
                input(&mut w, machine, round.wrapping_mul(7).wrapping_add(machine));
            }
            w.u8(3).u8(round); // an envelope
            if round % 9 == 4 {
                w.u8(5); // restart
            }
            if round % 13 == 6 {
                w.u8(6).u8(7); // reopen, prune
            }
            w.u8(4).u16(u16::from(round) * 900); // wait
        }
        seeds.push(Seed {
            name,
            bytes: w.finish(),
        });
    }
    seeds
}
