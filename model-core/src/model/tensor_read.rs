//! Reading tensors back from their device, and telling when that is cheap:
//! on the CPU backend a step's arithmetic can run as one loop over the
//! values instead of tensor passes (`fused_gru`).

use burn::prelude::*;

/// A tensor's values as f32, read back from its device.
pub fn floats<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("f32 data")
}

/// A device result that could not be read back (a lost GPU device, say).
#[derive(Debug, thiserror::Error)]
#[error("reading a result back from the device failed: {0}")]
pub struct ReadError(String);

pub async fn floats_async<const D: usize>(tensor: Tensor<D>) -> Result<Vec<f32>, ReadError> {
    let data = tensor
        .into_data_async()
        .await
        .map_err(|e| ReadError(format!("{e:?}")))?;
    Ok(data.convert::<f32>().try_to_vec::<f32>().expect("f32 data"))
}

/// Whether `device` is the CPU backend, whose tensors the CPU reads and
/// writes synchronously and cheaply.
pub fn on_cpu(device: &Device) -> bool {
    *device == Device::flex()
}
