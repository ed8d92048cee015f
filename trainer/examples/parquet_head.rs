//! Writes the first N rows of a flat Parquet file to a new Parquet file (brotli), same schema, values
//! copied as they are. Used by `scripts/make-samples.sh` to cut real samples; not part of the CLI.
//!
//! `cargo run -p edgerec-trainer --example parquet_head -- INPUT OUTPUT ROWS`

use std::fs::File;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use parquet::basic::{BrotliLevel, Compression, Type as PhysicalType};
use parquet::column::reader::{get_typed_column_reader, ColumnReader};
use parquet::data_type::{
    BoolType, ByteArrayType, DataType, DoubleType, FixedLenByteArrayType, FloatType, Int32Type,
    Int64Type, Int96Type,
};
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{FileReader, RowGroupReader, SerializedFileReader};
use parquet::file::writer::{SerializedColumnWriter, SerializedFileWriter};

/// Copies the first `rows` records of one column. Flat schemas only: no repetition levels.
fn copy_column<T: DataType>(
    reader: ColumnReader,
    writer: &mut SerializedColumnWriter<'_>,
    rows: usize,
    nullable: bool,
) -> Result<()> {
    let mut reader = get_typed_column_reader::<T>(reader);
    let mut definition_levels = Vec::new();
    let mut values = Vec::new();
    reader.read_records(
        rows,
        nullable.then_some(&mut definition_levels),
        None,
        &mut values,
    )?;
    writer.typed::<T>().write_batch(
        &values,
        nullable.then_some(definition_levels.as_slice()),
        None,
    )?;
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output, rows] = &args[..] else {
        bail!("usage: parquet_head INPUT OUTPUT ROWS");
    };
    let rows: usize = rows.parse().context("ROWS must be a number")?;
    let reader = SerializedFileReader::new(File::open(input).with_context(|| input.clone())?)?;
    let schema = reader.metadata().file_metadata().schema_descr_ptr();
    if schema.columns().iter().any(|c| c.max_rep_level() > 0) {
        bail!("{input}: nested (repeated) columns are not supported");
    }
    let row_group: Box<dyn RowGroupReader> = reader.get_row_group(0)?;
    let properties = WriterProperties::builder()
        .set_compression(Compression::BROTLI(BrotliLevel::default()))
        .build();
    let mut writer = SerializedFileWriter::new(
        File::create(output).with_context(|| output.clone())?,
        schema.root_schema_ptr(),
        Arc::new(properties),
    )?;
    let mut group_writer = writer.next_row_group()?;
    for (i, column) in schema.columns().iter().enumerate() {
        let mut column_writer = group_writer
            .next_column()?
            .context("schema has more columns")?;
        let column_reader = row_group.get_column_reader(i)?;
        let nullable = column.max_def_level() > 0;
        let w = &mut column_writer;
        match column.physical_type() {
            PhysicalType::BOOLEAN => copy_column::<BoolType>(column_reader, w, rows, nullable)?,
            PhysicalType::INT32 => copy_column::<Int32Type>(column_reader, w, rows, nullable)?,
            PhysicalType::INT64 => copy_column::<Int64Type>(column_reader, w, rows, nullable)?,
            PhysicalType::INT96 => copy_column::<Int96Type>(column_reader, w, rows, nullable)?,
            PhysicalType::FLOAT => copy_column::<FloatType>(column_reader, w, rows, nullable)?,
            PhysicalType::DOUBLE => copy_column::<DoubleType>(column_reader, w, rows, nullable)?,
            PhysicalType::BYTE_ARRAY => {
                copy_column::<ByteArrayType>(column_reader, w, rows, nullable)?
            }
            PhysicalType::FIXED_LEN_BYTE_ARRAY => {
                copy_column::<FixedLenByteArrayType>(column_reader, w, rows, nullable)?
            }
        }
        column_writer.close()?;
    }
    group_writer.close()?;
    writer.close()?;
    Ok(())
}
