//! A kernel's work split over the threads: pieces of rows (or columns) that each thread fills
//! alone, so the values never depend on the number of threads.

use std::mem::MaybeUninit;

/// Elements per piece when a kernel's rows are split over threads: enough that waking a
/// thread costs little beside its piece.
pub(super) const PIECE_ELEMENTS: usize = 16_384;

/// Runs `work(first_row, pieces)` on consecutive pieces of the same rows of every output in
/// `outputs` (each a slice of `rows` rows of its own width), on rayon's threads natively where
/// there is more than one piece, one after another in the browser. Each row is computed by one
/// piece alone, so the result does not depend on how many threads there are.
pub(super) fn for_each_piece<T: Send, const N: usize>(
    rows: usize,
    outputs: [(&mut [T], usize); N],
    work: impl Fn(usize, [&mut [T]; N]) + Sync + Send,
) {
    let rows_per_piece = (PIECE_ELEMENTS / outputs[0].1.max(1)).max(1);
    for_pieces_of(rows_per_piece, rows, outputs, work);
}

/// [`for_each_piece`] with pieces of `rows_per_piece` rows.
pub(super) fn for_pieces_of<T: Send, const N: usize>(
    rows_per_piece: usize,
    rows: usize,
    outputs: [(&mut [T], usize); N],
    work: impl Fn(usize, [&mut [T]; N]) + Sync + Send,
) {
    let mut chunks = outputs.map(|(values, width)| values.chunks_mut(rows_per_piece * width));
    let pieces: Vec<[&mut [T]; N]> = (0..rows.div_ceil(rows_per_piece))
        .map(|_| {
            chunks
                .each_mut()
                .map(|c| c.next().expect("every output has every row"))
        })
        .collect();
    #[cfg(not(target_arch = "wasm32"))]
    if pieces.len() > 1 {
        use rayon::prelude::*;
        return pieces
            .into_par_iter()
            .enumerate()
            .for_each(|(i, piece)| work(i * rows_per_piece, piece));
    }
    for (i, piece) in pieces.into_iter().enumerate() {
        work(i * rows_per_piece, piece);
    }
}

/// New outputs of `rows` rows each, of the given widths, filled by `work(first_row, pieces)` piece
/// by piece as [`for_each_piece`] fills existing ones, each element written once: not zeroed
/// first (the writes that follow would overwrite every zero; what zeroing cost is in
/// BENCHMARKS.md). In builds with debug assertions (the tests' `ci`
/// profile turns them on for this crate) each piece is filled with NaN before `work` sees it, so
/// that an element a kernel leaves unwritten shows in the tests' values instead of passing as
/// stale memory.
///
/// # Safety
/// `work` must write every element of every piece it is given.
pub(super) unsafe fn new_rows<const N: usize>(
    rows: usize,
    widths: [usize; N],
    work: impl Fn(usize, [&mut [MaybeUninit<f32>]; N]) + Sync + Send,
) -> [Vec<f32>; N] {
    let mut outputs = widths.map(|width| Vec::<f32>::with_capacity(rows * width));
    let mut widths_left = widths.into_iter();
    let spare = outputs.each_mut().map(|values| {
        let width = widths_left.next().expect("a width for every output");
        (&mut values.spare_capacity_mut()[..rows * width], width)
    });
    for_each_piece(rows, spare, |first, pieces| {
        #[cfg(debug_assertions)]
        let pieces = pieces.map(|piece| {
            piece.fill(MaybeUninit::new(f32::NAN));
            piece
        });
        work(first, pieces)
    });
    for (values, width) in outputs.iter_mut().zip(widths) {
        // SAFETY: `for_each_piece` gave every row of the spare capacity to a piece, and `work`
        // wrote every element of each (the caller's promise); had it panicked, the panic would
        // have left this function before this line.
        unsafe { values.set_len(rows * width) };
    }
    outputs
}

/// Columns a piece of [`column_sums`] takes at the least: a row's part of a piece is then several
/// vectors long, so that the additions, not the bookkeeping around them, take a piece's time.
pub(super) const SUM_COLUMNS_AT_LEAST: usize = 64;

/// `N` sums over the rows of a `[rows, width]` matrix, column by column: `add_rows(first_column,
/// sums)` adds every row's terms, in row order, for the columns from `first_column` on into `sums`
/// (a slice of each sum, as many columns as the slices hold). Each column's sum starts at 0 and
/// goes in row order, as Burn's `sum_dim(0)` adds, so its values are Burn's however many threads
/// there are: the threads split the columns, not the rows.
pub(super) fn column_sums<const N: usize>(
    rows: usize,
    width: usize,
    add_rows: impl Fn(usize, [&mut [f32]; N]) + Sync + Send,
) -> [Vec<f32>; N] {
    let mut sums = [(); N].map(|_| vec![0.0; width]);
    let columns_per_piece = (PIECE_ELEMENTS / rows.max(1)).max(SUM_COLUMNS_AT_LEAST);
    let columns = sums.each_mut().map(|sums| (sums.as_mut_slice(), 1));
    for_pieces_of(columns_per_piece, width, columns, add_rows);
    sums
}

/// `a()` and `b()`, natively on two of rayon's threads at once, in the browser one after the other.
pub(super) fn side_by_side<A: Send, B: Send>(
    a: impl FnOnce() -> A + Send,
    b: impl FnOnce() -> B + Send,
) -> (A, B) {
    #[cfg(not(target_arch = "wasm32"))]
    return rayon::join(a, b);
    #[cfg(target_arch = "wasm32")]
    (a(), b())
}
