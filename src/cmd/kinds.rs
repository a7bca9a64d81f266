//! `ledgerd kinds`: the probe and channel kinds this build knows, with `--examples` their
//! example config.

use super::EXIT_OK;

pub fn run(examples: bool) -> anyhow::Result<u8> {
    println!("Probe kinds:");
    for k in crate::probe::KINDS {
        let lessons: Vec<String> = k.lessons.iter().map(|l| format!("L{l}")).collect();
        let lessons = if lessons.is_empty() {
            "any lesson: your command decides; never in shipped configs".to_string()
        } else {
            lessons.join(", ")
        };
        println!("  {:<14} {} [{lessons}]", k.kind, k.summary);
        if examples {
            println!("\n{}", indent(&k.example()));
        }
    }
    println!("Channel kinds:");
    for k in crate::alert::CHANNEL_KINDS {
        println!("  {:<14} {}", k.kind, k.summary);
        if examples {
            println!("\n{}", indent(&k.example()));
        }
    }
    Ok(EXIT_OK)
}

fn indent(s: &str) -> String {
    s.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}
