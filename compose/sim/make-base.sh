#!/bin/sh
# Build the offline base image evalclient-base:bookworm (Debian bookworm minbase with python3,
# python3-aiohttp and python3-yaml) with debootstrap and `docker import`. Needs no container registry,
# only a Debian package mirror ($DEBIAN_MIRROR, default http://deb.debian.org/debian).
# Idempotent: does nothing when the image exists (set FORCE=1 to rebuild).
set -eu

IMAGE="${BASE_IMAGE:-evalclient-base:bookworm}"
SUITE="${DEBIAN_SUITE:-bookworm}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
PACKAGES="python3,python3-aiohttp,python3-yaml"

die() {
    echo "make-base.sh: $*" >&2
    exit 1
}

command -v docker >/dev/null 2>&1 || die "the docker CLI is not installed; install Docker and retry"
docker info >/dev/null 2>&1 || die "the Docker engine cannot be reached; start it (or check DOCKER_HOST) and retry"

if [ "${FORCE:-0}" != "1" ] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
    echo "make-base.sh: $IMAGE exists, nothing to do (FORCE=1 rebuilds it)"
    exit 0
fi

[ "$(id -u)" = "0" ] || die "debootstrap needs root; rerun as root (e.g. sudo $0)"
command -v debootstrap >/dev/null 2>&1 || die "debootstrap is not installed; install it (apt-get install debootstrap)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/evalclient-base.XXXXXX")"
cleanup() {
    # debootstrap may leave /proc or /sys mounted inside the target when it fails halfway.
    for m in proc sys dev/pts dev; do
        umount "$WORK/rootfs/$m" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

echo "make-base.sh: debootstrap $SUITE from $MIRROR (packages: $PACKAGES)"
if ! debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$WORK/rootfs" "$MIRROR" \
    >"$WORK/debootstrap.log" 2>&1; then
    tail -n 20 "$WORK/debootstrap.log" >&2
    die "debootstrap failed (log above); check that $MIRROR is reachable or set DEBIAN_MIRROR"
fi

# Slim the tree: package caches and lists are not needed at run time.
rm -rf "$WORK/rootfs/var/cache/apt/archives/"*.deb "$WORK/rootfs/var/lib/apt/lists/"* \
    "$WORK/rootfs/usr/share/doc/"* "$WORK/rootfs/usr/share/man/"* 2>/dev/null || true

echo "make-base.sh: importing the root filesystem as $IMAGE"
tar --numeric-owner -C "$WORK/rootfs" -c . | docker import \
    -c 'ENV LANG=C.UTF-8 PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1' \
    -c 'CMD ["python3"]' \
    -m "evalclient base: debootstrap $SUITE minbase + $PACKAGES" \
    - "$IMAGE" >/dev/null
echo "make-base.sh: built $IMAGE"
