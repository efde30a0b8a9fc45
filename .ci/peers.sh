# Sourced by the scripts that run Slack's own software against phantom-fsm (.ci/sim.sh,
# .ci/bridge.sh): installs a pinned npm or PyPI package into a scratch dir under target/,
# idempotently, and the Debian packages they need. The caller defines `log` and `die`.

need_apt() {
  command -v apt-get >/dev/null || die "$1 is missing and apt-get is not available"
  log "installing $2 with apt-get"
  apt-get update -qq && apt-get install -y -qq "$2" >/dev/null
}

# npm_peer DIR PACKAGE VERSION: PACKAGE@VERSION in DIR/node_modules.
npm_peer() {
  local dir=$1 package=$2 version=$3
  command -v node >/dev/null || need_apt node nodejs
  command -v npm >/dev/null || need_apt npm npm
  mkdir -p "$dir"
  if [ "$(node -p "try{require('$dir/node_modules/$package/package.json').version}catch(e){''}")" != "$version" ]; then
    log "installing $package@$version with npm"
    (cd "$dir" && [ -f package.json ] || echo '{"private":true}' > package.json)
    npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "$package@$version" >/dev/null
  fi
}

# pip_peer VENV PACKAGE VERSION: PACKAGE==VERSION in the virtualenv VENV.
pip_peer() {
  local venv=$1 package=$2 version=$3
  command -v python3 >/dev/null || need_apt python3 python3
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" 2>/dev/null || { need_apt python3-venv python3-venv && python3 -m venv "$venv"; }
  fi
  if ! "$venv/bin/python" -c "import importlib.metadata as m,sys; sys.exit(m.version('$package')!='$version')" 2>/dev/null; then
    log "installing $package==$version with pip"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "$package==$version"
  fi
}
