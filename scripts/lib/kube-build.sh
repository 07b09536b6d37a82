# Helpers shared by scripts/build-kube-tools.sh and scripts/build-kube-node.sh (sourced, not run).
# They read the caller's BIN_DIR and FORCE and call its log().

# have_version BIN EXPECTED CMD...: true if BIN exists and "CMD" output contains EXPECTED.
have_version() {
  local bin=$1 want=$2; shift 2
  [ "$FORCE" = 1 ] && return 1
  [ -x "$BIN_DIR/$bin" ] || return 1
  local out
  out=$("$BIN_DIR/$bin" "$@" 2>&1 || true)
  if grep -qF -- "$want" <<<"$out"; then
    log "$bin: up to date ($want)"
    return 0
  fi
  log "$bin: version mismatch (want '$want', got '$(head -n1 <<<"$out")'), rebuilding"
  return 1
}

# timed LABEL CMD...: run CMD and report the wall time.
timed() {
  local label=$1; shift
  local t0=$SECONDS
  "$@"
  log "$label: took $((SECONDS - t0))s"
}

# write_if_changed FILE CONTENT: (re)write FILE only when the content differs; returns 0 if written.
write_if_changed() {
  local f=$1 content=$2
  if [ -f "$f" ] && [ "$(cat "$f")" = "$content" ]; then return 1; fi
  printf '%s\n' "$content" >"$f"
  return 0
}

