//! `phantom-fsm diagram`: print or rewrite the derived state diagrams.

use super::CliError;
use clap::{Args, ValueEnum};
use phantom_fsm::engine::Format;
use phantom_fsm::registry;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub(crate) struct DiagramArgs {
    /// Machine: socket_mode (or socket) | onboarding.
    #[arg(required_unless_present = "write")]
    machine: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "mermaid")]
    format: FormatArg,
    /// Rewrite every diagram file in --dir instead of printing one.
    #[arg(long, conflicts_with = "machine")]
    write: bool,
    /// Where --write puts the files.
    #[arg(long, default_value = "state-diagrams")]
    dir: PathBuf,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FormatArg {
    Mermaid,
    Dot,
}

pub(crate) fn run(args: DiagramArgs) -> Result<(), CliError> {
    if args.write {
        std::fs::create_dir_all(&args.dir)
            .map_err(|e| format!("cannot create {}: {e}", args.dir.display()))?;
        for (name, text) in registry::diagram_files() {
            let path = args.dir.join(&name);
            std::fs::write(&path, text)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            println!("wrote {}", path.display());
        }
        return Ok(());
    }
    let name = args.machine.unwrap_or_default();
    let diagram = registry::diagram(&name).ok_or_else(|| {
        format!(
            "unknown machine {name:?}; known: {}",
            registry::MACHINE_IDS.join(", ")
        )
    })?;
    let format = match args.format {
        FormatArg::Mermaid => Format::Mermaid,
        FormatArg::Dot => Format::Dot,
    };
    print!("{}", format.render(diagram));
    Ok(())
}
