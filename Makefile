# The README's commands. Thin wrappers: the logic lives in tools/*.sh.
.PHONY: demo test setup build bench lint header clean-demo

demo: setup build
	tools/demo.sh

test: setup
	tools/test.sh

setup:
	tools/setup.sh

build:
	cargo build --release --bin medseg

bench: setup build
	tools/bench.sh

lint:
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings

# Regenerate include/medseg.h after changing the C ABI.
header:
	MEDSEG_UPDATE_HEADER=1 cargo build --lib

clean-demo:
	rm -rf demo_out
