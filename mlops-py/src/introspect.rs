//! Buffer addresses, for the tests that prove data crosses the boundary without a copy.
//!
//! The addresses are listed the way pyarrow's `Array.buffers()` lists them: pre-order over an
//! array and its children, each array's validity bitmap first (`None` when it has none), then
//! its data buffers (offsets before values for strings and binaries). A pyarrow array imported
//! from Rust without a copy lists exactly the same addresses.

use arrow::array::{ArrayData, RecordBatch};
use arrow::datatypes::DataType;
use arrow_pyarrow::PyArrowType;
use pyo3::prelude::*;

/// Appends the buffers of `data` and its children (pyarrow's order) to `out`.
fn push_buffers(data: &ArrayData, out: &mut Vec<Option<usize>>) {
    let has_validity = !matches!(
        data.data_type(),
        DataType::Null | DataType::Union(..) | DataType::RunEndEncoded(..)
    );
    if has_validity {
        out.push(data.nulls().map(|n| n.buffer().as_ptr() as usize));
    }
    out.extend(data.buffers().iter().map(|b| Some(b.as_ptr() as usize)));
    for child in data.child_data() {
        push_buffers(child, out);
    }
}

/// The buffer addresses of one array (see the module docs for the order).
pub(crate) fn array_addresses(data: &ArrayData) -> Vec<Option<usize>> {
    let mut out = Vec::new();
    push_buffers(data, &mut out);
    out
}

/// The buffer addresses of every column of `batch`, as the batch holds them in Rust.
pub(crate) fn batch_addresses(batch: &RecordBatch) -> Vec<Vec<Option<usize>>> {
    batch
        .columns()
        .iter()
        .map(|c| array_addresses(&c.to_data()))
        .collect()
}

/// The buffer addresses of a pyarrow array as Rust sees it after the import through the
/// Arrow C data interface (equal to pyarrow's own addresses when nothing was copied).
#[pyfunction]
fn _imported_buffer_addresses(array: PyArrowType<ArrayData>) -> Vec<Option<usize>> {
    array_addresses(&array.0)
}

/// Adds the introspection functions to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_imported_buffer_addresses, m)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, Float64Array, StringArray};
    use std::sync::Arc;

    #[test]
    fn addresses_follow_pyarrow_order() {
        let f = Float64Array::from(vec![Some(1.0), None]);
        let s = StringArray::from(vec!["a", "bc"]);
        let nulls = f.nulls().map(|n| n.buffer().as_ptr() as usize);
        assert!(nulls.is_some());
        assert_eq!(
            array_addresses(&f.to_data()),
            vec![nulls, Some(f.values().inner().as_ptr() as usize)]
        );
        let batch = RecordBatch::try_from_iter([
            ("f", Arc::new(f.clone()) as _),
            ("s", Arc::new(s.clone()) as _),
        ])
        .ok();
        let got = batch.as_ref().map(batch_addresses);
        let s_addr = vec![
            None,
            Some(s.offsets().inner().inner().as_ptr() as usize),
            Some(s.values().as_ptr() as usize),
        ];
        assert_eq!(got.map(|g| g[1].clone()), Some(s_addr));
    }
}
