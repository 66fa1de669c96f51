# bash completion for archfuse: written by scripts/completion.py from archfuse's argument parser;
# do not edit (run `python scripts/completion.py > scripts/completion.bash` after changing a flag).
# The offline bundle carries it; its install.sh puts it where bash-completion looks.

_archfuse() {
  local cur prev cmd i
  cur="${COMP_WORDS[COMP_CWORD]}"
  prev="${COMP_WORDS[COMP_CWORD-1]}"
  cmd=
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "${COMP_WORDS[i]}" in
      tui|demo|scan|plan|import|verify|list|diff|history|prune|sites|rollback) cmd=${COMP_WORDS[i]}; break ;;
    esac
  done
  case "$cmd" in
    "")
      if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "-h --help -V --version tui demo scan plan import verify list diff history prune sites rollback" -- "$cur")); return; fi
      COMPREPLY=($(compgen -W "tui demo scan plan import verify list diff history prune sites rollback" -- "$cur") $(compgen -f -- "$cur")) ;;
    tui)
      case "$prev" in --state-dir) COMPREPLY=($(compgen -f -- "$cur")); return ;; esac
      if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "-h --help --state-dir --json --debug" -- "$cur")); return; fi
      COMPREPLY=($(compgen -f -- "$cur")) ;;
    demo)
      case "$prev" in --state-dir|--dir) COMPREPLY=($(compgen -f -- "$cur")); return ;; esac
      if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "-h --help --state-dir --json --debug --dir --headless" -- "$cur")); return; fi
      COMPREPLY=($(compgen -f -- "$cur")) ;;
    scan)
      case "$prev" in --state-dir) COMPREPLY=($(compgen -f -- "$cur")); return ;; esac
      if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "-h --help --state-dir --json --debug --strict --rescan" -- "$cur")); return; fi
      COMPREPLY=($(compgen -f -- "$cur")) ;;
    plan)
      case "$prev" in
        --chart-repo-type) COMPREPLY=($(compgen -W "oci chartmuseum harbor" -- "$cur")); return ;;
        --space-visibility) COMPREPLY=($(compgen -W "public private" -- "$cur")); return ;;
        --ignore-check) COMPREPLY=($(compgen -W "package version journal spool-disk target-disk vendor-leftovers push-rights registry-rules quota immutable-tags retention proxy-cache arch-coverage charts chart-destination" -- "$cur")); return ;;
      esac
      case "$prev" in --state-dir|--registry|--sites|-c|--cluster-config|--username|--ca-cert|--prefix|--chart-repo|--chart-username|--retry-for|--stall-timeout|--charts|--skip-charts|--jobs|--registry-storage) COMPREPLY=($(compgen -f -- "$cur")); return ;; esac
      if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "-h --help --state-dir --json --debug --registry --sites -c --cluster-config --username --password-stdin --insecure --ca-cert --prefix --chart-repo --chart-repo-type --chart-username --create-spaces --space-visibility --retry-for --stall-timeout --charts --skip-charts --strict --rescan --jobs --ignore-check --registry-storage --clean-leftovers" -- "$cur")); return; fi
      COMPREPLY=($(compgen -f -- "$cur")) ;;
    import)
      case "$prev" in
        --chart-repo-type) COMPREPLY=($(compgen -W "oci chartmuseum harbor" -- "$cur")); return ;;
        --space-visibility) COMPREPLY=($(compgen -W "public private" -- "$cur")); return ;;
        --ignore-check) COMPREPLY=($(compgen -W "package version journal spool-disk target-disk vendor-leftovers push-rights registry-rules quota immutable-tags retention proxy-cache arch-coverage charts chart-destination" -- "$cur")); return ;;
      esac
      case "$prev" in --state-dir|--registry|--sites|-c|--cluster-config|--username|--ca-cert|--prefix|--chart-repo|--chart-username|--retry-for|--stall-timeout|--charts|--skip-charts|--spool-budget|--spool-dir|--spool-memory|--limit-rate|--jobs|--registry-storage) COMPREPLY=($(compgen -f -- "$cur")); return ;; esac
      if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "-h --help --state-dir --json --debug --registry --sites -c --cluster-config --username --password-stdin --insecure --ca-cert --prefix --chart-repo --chart-repo-type --chart-username --create-spaces --space-visibility --retry-for --stall-timeout --charts --skip-charts --strict --rescan -y --yes --force-charts --spool-budget --spool-dir --spool-memory --scan-first --verbose --limit-rate --jobs --ignore-check --registry-storage --clean-leftovers" -- "$cur")); return; fi
      COMPREPLY=($(compgen -f -- "$cur")) ;;
    verify)
      case "$prev" in
        --chart-repo-type) COMPREPLY=($(compgen -W "oci chartmuseum harbor" -- "$cur")); return ;;
        --space-visibility) COMPREPLY=($(compgen -W "public private" -- "$cur")); return ;;
      esac
      case "$prev" in --state-dir|--registry|--sites|-c|--cluster-config|--username|--ca-cert|--prefix|--chart-repo|--chart-username|--retry-for|--stall-timeout|--charts|--skip-charts) COMPREPLY=($(compgen -f -- "$cur")); return ;; esac
      if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "-h --help --state-dir --json --debug --registry --sites -c --cluster-config --username --password-stdin --insecure --ca-cert --prefix --chart-repo --chart-repo-type --chart-username --create-spaces --space-visibility --retry-for --stall-timeout --charts --skip-charts --strict --rescan --repair -y --yes" -- "$cur")); return; fi
      COMPREPLY=($(compgen -f -- "$cur")) ;;
    list)
      case "$prev" in
        --format) COMPREPLY=($(compgen -W "table csv json" -- "$cur")); return ;;
      esac
      case "$prev" in --state-dir|--registry|--prefix|--charts|--skip-charts) COMPREPLY=($(compgen -f -- "$cur")); return ;; esac
      if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "-h --help --state-dir --json --debug --format --registry --prefix --rescan --charts --skip-charts" -- "$cur")); return; fi
      COMPREPLY=($(compgen -f -- "$cur")) ;;
    diff)
      case "$prev" in
        --chart-repo-type) COMPREPLY=($(compgen -W "oci chartmuseum harbor" -- "$cur")); return ;;
        --space-visibility) COMPREPLY=($(compgen -W "public private" -- "$cur")); return ;;
      esac
      case "$prev" in --state-dir|--registry|--sites|-c|--cluster-config|--username|--ca-cert|--prefix|--chart-repo|--chart-username|--retry-for|--stall-timeout|--charts|--skip-charts) COMPREPLY=($(compgen -f -- "$cur")); return ;; esac
      if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "-h --help --state-dir --json --debug --registry --sites -c --cluster-config --username --password-stdin --insecure --ca-cert --prefix --chart-repo --chart-repo-type --chart-username --create-spaces --space-visibility --retry-for --stall-timeout --rescan --charts --skip-charts" -- "$cur")); return; fi
      COMPREPLY=($(compgen -f -- "$cur")) ;;
    history)
      case "$prev" in --state-dir) COMPREPLY=($(compgen -f -- "$cur")); return ;; esac
      if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "-h --help --state-dir --json --debug" -- "$cur")); return; fi
      COMPREPLY=($(compgen -f -- "$cur")) ;;
    prune)
      case "$prev" in
        --chart-repo-type) COMPREPLY=($(compgen -W "oci chartmuseum harbor" -- "$cur")); return ;;
        --space-visibility) COMPREPLY=($(compgen -W "public private" -- "$cur")); return ;;
      esac
      case "$prev" in --state-dir|--registry|--sites|-c|--cluster-config|--username|--ca-cert|--prefix|--chart-repo|--chart-username|--retry-for|--stall-timeout|--keep|--drop|--charts|--skip-charts) COMPREPLY=($(compgen -f -- "$cur")); return ;; esac
      if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "-h --help --state-dir --json --debug --registry --sites -c --cluster-config --username --password-stdin --insecure --ca-cert --prefix --chart-repo --chart-repo-type --chart-username --create-spaces --space-visibility --retry-for --stall-timeout --keep --drop -y --yes --charts --skip-charts" -- "$cur")); return; fi
      COMPREPLY=($(compgen -f -- "$cur")) ;;
    sites)
      case "$prev" in
        --chart-repo-type) COMPREPLY=($(compgen -W "oci chartmuseum harbor" -- "$cur")); return ;;
        --space-visibility) COMPREPLY=($(compgen -W "public private" -- "$cur")); return ;;
      esac
      case "$prev" in --state-dir|--registry|--sites|-c|--cluster-config|--username|--ca-cert|--prefix|--chart-repo|--chart-username|--retry-for|--stall-timeout|--hub|--run|--speed-limit|--reruns) COMPREPLY=($(compgen -f -- "$cur")); return ;; esac
      if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "-h --help --state-dir --json --debug --registry --sites -c --cluster-config --username --password-stdin --insecure --ca-cert --prefix --chart-repo --chart-repo-type --chart-username --create-spaces --space-visibility --retry-for --stall-timeout --hub --run --speed-limit --no-single-active --reruns -y --yes" -- "$cur")); return; fi
      COMPREPLY=($(compgen -W "replicate" -- "$cur") $(compgen -f -- "$cur")) ;;
    rollback)
      case "$prev" in
        --chart-repo-type) COMPREPLY=($(compgen -W "oci chartmuseum harbor" -- "$cur")); return ;;
        --space-visibility) COMPREPLY=($(compgen -W "public private" -- "$cur")); return ;;
      esac
      case "$prev" in --state-dir|--registry|--sites|-c|--cluster-config|--username|--ca-cert|--prefix|--chart-repo|--chart-username|--retry-for|--stall-timeout) COMPREPLY=($(compgen -f -- "$cur")); return ;; esac
      if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "-h --help --state-dir --json --debug --registry --sites -c --cluster-config --username --password-stdin --insecure --ca-cert --prefix --chart-repo --chart-repo-type --chart-username --create-spaces --space-visibility --retry-for --stall-timeout -y --yes" -- "$cur")); return; fi
      COMPREPLY=($(compgen -f -- "$cur")) ;;
  esac
}
complete -o filenames -F _archfuse archfuse
