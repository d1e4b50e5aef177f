import type { Command } from "commander";

/**
 * A bash completion script for the command tree (subcommands, then each command's flags),
 * generated from the same definitions as the help, so it cannot fall behind. zsh users can
 * load it through bashcompinit.
 */
export function bashCompletion(program: Command): string {
  const paths: [string, string[]][] = [];
  const walk = (cmd: Command, path: string) => {
    const flags = cmd.options.flatMap((o) => [o.long, o.short]).filter((f): f is string => f !== undefined);
    paths.push([path, [...cmd.commands.map((c) => c.name()), ...flags, "--help"]]);
    for (const sub of cmd.commands) walk(sub, path === "" ? sub.name() : `${path} ${sub.name()}`);
  };
  walk(program, "");
  const known = paths
    .filter(([p]) => p !== "")
    .map(([p]) => `"${p}"`)
    .join("|");
  const cases = paths.map(([p, words]) => `    "${p}") words="${words.join(" ")}" ;;`).join("\n");
  return `# bash completion for tessera: source <(tessera completion)
_tessera() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="" next i words
  for ((i = 1; i < COMP_CWORD; i++)); do
    next="\${path:+$path }\${COMP_WORDS[i]}"
    case "$next" in
      ${known}) path="$next" ;;
    esac
  done
  case "$path" in
${cases}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _tessera tessera
`;
}
