//! The DFT engine choice in `py/dft.py`: gpu4pyscf where it imports and sees
//! a CUDA device, else PySCF on the CPU, and a clear error only when a GPU is
//! demanded. Run in the project's real Python (which has no gpu4pyscf), and
//! with stand-in `gpu4pyscf`/`cupy` packages for a GPU stack that imports but
//! finds no device, as on a node whose driver is missing.

mod common;

use std::path::Path;
use std::process::Command;

use common::{python, scratch};

const DFT_PY: &str = include_str!("../py/dft.py");

/// `select_engine()`'s answer as `engine|why`, or the error it raised.
fn select(engine: Option<&str>, extra_path: Option<&Path>) -> String {
    let script = "import sys, types\n\
        if len(sys.argv) > 2: sys.path.insert(0, sys.argv[2])\n\
        dft = types.ModuleType('dft')\n\
        exec(compile(sys.argv[1], 'dft.py', 'exec'), dft.__dict__)\n\
        try:\n    print('|'.join(dft.select_engine()))\n\
        except Exception as e:\n    print(f'error|{type(e).__name__}: {e}')\n";
    let mut command = Command::new(python());
    command.args(["-c", script, DFT_PY]);
    if let Some(path) = extra_path {
        command.arg(path);
    }
    command.env_remove("MOLGAP_DFT_ENGINE");
    if let Some(engine) = engine {
        command.env("MOLGAP_DFT_ENGINE", engine);
    }
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn without_gpu4pyscf_the_cpu_is_used_and_a_demanded_gpu_is_an_error() {
    let auto = select(None, None);
    assert!(
        auto.starts_with("cpu|gpu4pyscf unavailable (ModuleNotFoundError"),
        "{auto}"
    );
    assert_eq!(select(Some("cpu"), None), "cpu|MOLGAP_DFT_ENGINE=cpu");
    let demanded = select(Some("gpu"), None);
    assert!(
        demanded.starts_with("error|RuntimeError: MOLGAP_DFT_ENGINE=gpu but gpu4pyscf unavailable"),
        "{demanded}"
    );
    let bad = select(Some("quantum"), None);
    assert!(bad.starts_with("error|ValueError"), "{bad}");
}

#[test]
fn a_gpu_stack_without_a_device_falls_back_to_the_cpu() {
    let dir = scratch("engine");
    let write = |path: &str, text: &str| {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("gpu4pyscf/__init__.py", "");
    write("cupy/__init__.py", "from . import cuda\n");
    write("cupy/cuda/__init__.py", "from . import runtime\n");
    // What CuPy raises when the driver is missing.
    write(
        "cupy/cuda/runtime.py",
        "class CUDARuntimeError(RuntimeError):\n    pass\n\
         def getDeviceCount():\n    raise CUDARuntimeError('cudaErrorNoDevice: no CUDA-capable device is detected')\n",
    );
    let auto = select(None, Some(&dir));
    assert!(
        auto.starts_with("cpu|gpu4pyscf unavailable (CUDARuntimeError"),
        "{auto}"
    );
    let demanded = select(Some("gpu"), Some(&dir));
    assert!(demanded.starts_with("error|RuntimeError"), "{demanded}");
    // A stack that imports and counts a device is chosen.
    write(
        "cupy/cuda/runtime.py",
        "def getDeviceCount():\n    return 1\n",
    );
    assert_eq!(select(None, Some(&dir)), "gpu4pyscf|1 CUDA device(s)");
    std::fs::remove_dir_all(dir).ok();
}
