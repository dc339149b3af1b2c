//! The tensor backends this build can run on, chosen at run time.

// Re-exported: the binary names the device without depending on burn.
pub use burn::prelude::Device;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// burn's pure-Rust CPU backend (the fastest CPU backend here; see `trainer bench model`)
    Flex,
    /// burn's ndarray CPU backend
    Ndarray,
    /// GPU through wgpu (build with `--features wgpu`)
    #[cfg(feature = "wgpu")]
    Wgpu,
    /// NVIDIA GPU through CUDA, device 0 (build with `--features cuda`;
    /// train with `--shards 1`: shards are for CPU cores)
    #[cfg(feature = "cuda")]
    Cuda,
}

impl Backend {
    pub fn device(self) -> Device {
        match self {
            Backend::Flex => Device::flex(),
            // Deprecated upstream, kept so `trainer bench model` can compare CPU backends.
            #[allow(deprecated)]
            Backend::Ndarray => Device::ndarray(),
            #[cfg(feature = "wgpu")]
            Backend::Wgpu => Device::wgpu(Default::default()),
            #[cfg(feature = "cuda")]
            Backend::Cuda => Device::cuda(0usize),
        }
    }

    pub fn all() -> Vec<Backend> {
        <Backend as clap::ValueEnum>::value_variants().to_vec()
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Flex => "flex",
            Backend::Ndarray => "ndarray",
            #[cfg(feature = "wgpu")]
            Backend::Wgpu => "wgpu",
            #[cfg(feature = "cuda")]
            Backend::Cuda => "cuda",
        }
    }
}
