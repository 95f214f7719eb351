//! The products: the linear layers, attention's batched matrix products and the split of
//! projections into heads and back, each written straight into its output.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex};
use burn::prelude::*;

use super::pieces::{column_sums, for_each_piece, for_pieces_of, new_rows, side_by_side};
use super::{AutodiffTensor, Route, register, route, tensor_like, values};

/// `x W + b` for `x` `[rows, d_in]`, `W` `[d_in, d_out]` and `b` `[d_out]`: Burn's `linear`,
/// with the same matrix products and sums, but each product written straight into its output
/// (Burn's CPU backend allocates every product's output twice and copies it once).
pub fn linear(x: Tensor<2>, weight: Tensor<2>, bias: Tensor<1>) -> Tensor<2> {
    match (route(&x), route(&weight), route(&bias)) {
        (Some(Route::Plain(x)), Some(Route::Plain(weight)), Some(Route::Plain(bias))) => {
            Tensor::from_primitive::<Flex>(linear_flex(&x, &weight, &bias))
        }
        (Some(Route::Tracked(x)), Some(Route::Tracked(w)), Some(Route::Tracked(b))) => {
            Tensor::from_primitive::<Autodiff<Flex>>(linear_tracked(x, w, b))
        }
        _ => burn::tensor::module::linear(x, weight, Some(bias)),
    }
}

/// `a b`, matrix by matrix over the leading (batch) dimensions, which must be the same in both:
/// Burn's `matmul`, with the same `gemm` calls so the same values and gradients, but each
/// product written straight into its output (Burn's CPU backend zeroes it, allocates it twice and
/// copies it, on one thread). Operands whose batch dimensions differ (one broadcast over the
/// other) go to Burn's.
pub fn matmul<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> Tensor<D> {
    let (a_dims, b_dims) = (a.dims(), b.dims());
    if a_dims[..D - 2] != b_dims[..D - 2] {
        return a.matmul(b);
    }
    match (route(&a), route(&b)) {
        (Some(Route::Plain(a)), Some(Route::Plain(b))) => {
            Tensor::from_primitive::<Flex>(matmul_flex(&a, &b))
        }
        (Some(Route::Tracked(a)), Some(Route::Tracked(b))) => {
            let y = matmul_flex(a.primitive(), b.primitive());
            let y = match MatmulBackward
                .prepare::<NoCheckpointing>([a.node(), b.node()])
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(prep) => {
                    prep.finish((a.primitive().clone(), b.primitive().clone()), y)
                }
                OpsKind::UnTracked(prep) => prep.finish(y),
            };
            Tensor::from_primitive::<Autodiff<Flex>>(y)
        }
        _ => a.matmul(b),
    }
}

/// `x` `[a, b, c, d]` with its two middle dimensions swapped, `[a, c, b, d]`, its values laid out
/// in that order: how the model splits a projection's rows into heads and joins the heads'
/// outputs back into rows. Burn's `swap_dims` is a view whose next `reshape` copies it on one
/// thread (the joined heads forward, the split ones backward; its cost is in BENCHMARKS.md);
/// here the copy is made at once on the threads, each way. The same values as `x.swap_dims(1, 2)`
/// (tested), which is what every other backend runs.
pub fn swap_middle_dims(x: Tensor<4>) -> Tensor<4> {
    match route(&x) {
        Some(Route::Plain(x)) => Tensor::from_primitive::<Flex>(swap_middle_flex(&x)),
        Some(Route::Tracked(x)) => {
            let y = swap_middle_flex(x.primitive());
            let y = SwapMiddleBackward
                .prepare::<NoCheckpointing>([x.node()])
                .compute_bound()
                .stateless(y);
            Tensor::from_primitive::<Autodiff<Flex>>(y)
        }
        None => x.swap_dims(1, 2),
    }
}

/// A matrix, or a batch of them, as `gemm` reads it: through its tensor's strides, without a
/// copy, as stored or transposed.
struct Matrices<'a> {
    values: &'a [f32],
    /// Where each matrix of the batch starts in `values`, in the batch's order.
    starts: Vec<isize>,
    /// Rows and columns as read.
    dims: [usize; 2],
    /// Row and column strides as read.
    strides: [isize; 2],
}

impl<'a> Matrices<'a> {
    /// The matrices over the last two dimensions of `tensor`, the others being the batch.
    fn of(tensor: &'a FlexTensor) -> Self {
        let layout = tensor.layout();
        let (shape, strides) = (layout.shape(), layout.strides());
        let batch_dims = shape.num_dims() - 2;
        let mut starts = vec![layout.start_offset() as isize];
        for (&size, &stride) in shape[..batch_dims].iter().zip(strides) {
            starts = starts
                .iter()
                .flat_map(|&start| (0..size as isize).map(move |i| start + i * stride))
                .collect();
        }
        let matrices = Matrices {
            values: tensor.storage(),
            starts,
            dims: [shape[batch_dims], shape[batch_dims + 1]],
            strides: [strides[batch_dims], strides[batch_dims + 1]],
        };
        // What makes the reads in `product` safe: every element of every matrix is in `values`.
        if matrices.dims.iter().all(|&d| d > 0) {
            let reach = |sign: fn(isize) -> bool| -> isize {
                (matrices.dims.iter().zip(matrices.strides))
                    .filter(|&(_, stride)| sign(stride))
                    .map(|(&d, stride)| (d as isize - 1) * stride)
                    .sum()
            };
            let (low, high) = (reach(|s| s < 0), reach(|s| s > 0));
            for &start in &matrices.starts {
                assert!(
                    start + low >= 0 && start + high < matrices.values.len() as isize,
                    "a view's matrices lie within its values"
                );
            }
        }
        matrices
    }

    fn transposed(self) -> Self {
        let ([rows, columns], [row_stride, column_stride]) = (self.dims, self.strides);
        Matrices {
            dims: [columns, rows],
            strides: [column_stride, row_stride],
            ..self
        }
    }
}

/// Multiply-adds per piece when a batch of small products is split over threads.
const PIECE_MULTIPLY_ADDS: usize = 1 << 18;

/// `a b`, matrix by matrix over the batch, into a new row-major vector: the `gemm` calls Burn's
/// CPU backend makes for a product (same strides, so the same values), without zeroing the
/// output first, nor allocating it twice and copying it as Burn does. A batch is split over the
/// threads by pieces of whole matrices; a single large product, with `split`, over rayon's
/// threads as Burn splits it (the values are the same either way).
fn product(a: &Matrices, b: &Matrices, split: bool) -> Vec<f32> {
    let ([m, k], [k_b, n]) = (a.dims, b.dims);
    assert_eq!(k, k_b, "matrix product of {:?} and {:?}", a.dims, b.dims);
    let batch = a.starts.len();
    assert_eq!(batch, b.starts.len(), "as many left matrices as right ones");
    if batch * m * n * k == 0 {
        return vec![0.0; batch * m * n];
    }
    // Burn's threshold for running a product on several threads (burn-flex's matmul.rs).
    #[cfg(not(target_arch = "wasm32"))]
    let parallelism = if split && batch == 1 && m * n * k >= 192 * 192 * 192 {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    };
    // The browser's products run on one thread (its gemm has no rayon).
    #[cfg(target_arch = "wasm32")]
    let parallelism = {
        let _ = split;
        gemm::Parallelism::None
    };
    // Not zeroed first: `gemm` with `read_dst = false` writes every element of its destination
    // and reads none (gemm-common 0.19, each of its paths: the small-product, vector and blocked
    // kernels all take the destination's old value as zero when told not to read it).
    // `tests/kernels.rs` holds `gemm` to this on each path, through a destination filled with NaN.
    let mut out = Vec::<f32>::with_capacity(batch * m * n);
    let matrices_per_piece = (PIECE_MULTIPLY_ADDS / (m * n * k)).max(1);
    let spare = &mut out.spare_capacity_mut()[..batch * m * n];
    for_pieces_of(
        matrices_per_piece,
        batch,
        [(spare, m * n)],
        |first, [piece]| {
            for (i, dst) in (first..).zip(piece.chunks_exact_mut(m * n)) {
                // SAFETY: `dst` has room for one m × n matrix, row-major, which `gemm` writes, every
                // element, before `set_len` below counts them; `Matrices::of` asserted that each
                // matrix of `a` and `b` lies within its values at these strides.
                unsafe {
                    gemm::gemm(
                        m,
                        n,
                        k,
                        dst.as_mut_ptr().cast::<f32>(),
                        1,
                        n as isize,
                        false,
                        a.values.as_ptr().offset(a.starts[i]),
                        a.strides[1],
                        a.strides[0],
                        b.values.as_ptr().offset(b.starts[i]),
                        b.strides[1],
                        b.strides[0],
                        0.0,
                        1.0,
                        false,
                        false,
                        false,
                        parallelism,
                    );
                }
            }
        },
    );
    // SAFETY: the pieces covered every matrix of the batch, and `gemm` wrote each in full; had
    // one panicked, the panic would have left this function before this line.
    unsafe { out.set_len(batch * m * n) };
    out
}

/// A `[rows, columns]` tensor holding `values`.
fn matrix_tensor(values: Vec<f32>, rows: usize, columns: usize) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, [rows, columns]))
}

fn linear_flex(x: &FlexTensor, weight: &FlexTensor, bias: &FlexTensor) -> FlexTensor {
    let (x, weight) = (Matrices::of(x), Matrices::of(weight));
    let ([rows, _], [_, d_out]) = (x.dims, weight.dims);
    let mut y = product(&x, &weight, true);
    let bias = values(bias);
    for_each_piece(rows, [(&mut y, d_out)], |_, [y]| {
        for row in y.chunks_exact_mut(d_out) {
            for (y, &b) in row.iter_mut().zip(bias.iter()) {
                *y += b;
            }
        }
    });
    matrix_tensor(y, rows, d_out)
}

#[derive(Debug)]
struct LinearBackward;

impl Backward<Flex, 3> for LinearBackward {
    /// The input and the weight.
    type State = (FlexTensor, FlexTensor);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [x_node, weight_node, bias_node] = ops.parents.map(|p| p.map(|p| p.id));
        let dy = grads.consume::<Flex>(&ops.node);
        let (x, weight) = ops.state;
        let [rows, d_out] = Matrices::of(&dy).dims;
        let d_in = x.layout().shape()[1];
        let wanted = [x_node.is_some(), weight_node.is_some()];
        let (dx, dw) = operand_gradients(&dy, &x, &weight, wanted);
        register(grads, x_node, || {
            matrix_tensor(dx.expect("computed for x"), rows, d_in)
        });
        register(grads, weight_node, || {
            matrix_tensor(dw.expect("computed for the weight"), d_in, d_out)
        });
        // The sum over the rows that Burn's `linear` takes, in the same order.
        register(grads, bias_node, || {
            let dy = values(&dy);
            let [db] = column_sums(rows, d_out, |first, [db]| {
                for dy in dy.chunks_exact(d_out) {
                    db.iter_mut()
                        .zip(&dy[first..])
                        .for_each(|(db, &dy)| *db += dy);
                }
            });
            FlexTensor::from_data(TensorData::new(db, [d_out]))
        });
    }
}

fn linear_tracked(
    x: AutodiffTensor,
    weight: AutodiffTensor,
    bias: AutodiffTensor,
) -> AutodiffTensor {
    let y = linear_flex(x.primitive(), weight.primitive(), bias.primitive());
    match LinearBackward
        .prepare::<NoCheckpointing>([x.node(), weight.node(), bias.node()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            prep.finish((x.primitive().clone(), weight.primitive().clone()), y)
        }
        OpsKind::UnTracked(prep) => prep.finish(y),
    }
}

/// The gradients of the operands of `a b` whose flags in `wanted` are set, given the output's
/// gradient `dy`: `dy bᵀ` for `a` and `aᵀ dy` for `b`, transposed by strides, as Burn's matmul
/// backward computes them. The two products are independent and of the same size: where both are
/// wanted, each takes one thread whole (coarser work than splitting each over the threads in
/// turn).
fn operand_gradients(
    dy: &FlexTensor,
    a: &FlexTensor,
    b: &FlexTensor,
    [a_wanted, b_wanted]: [bool; 2],
) -> (Option<Vec<f32>>, Option<Vec<f32>>) {
    let dy = Matrices::of(dy);
    let split = !(a_wanted && b_wanted);
    side_by_side(
        || a_wanted.then(|| product(&dy, &Matrices::of(b).transposed(), split)),
        || b_wanted.then(|| product(&Matrices::of(a).transposed(), &dy, split)),
    )
}

/// [`matmul`] on the CPU, for operands of the same batch dimensions.
fn matmul_flex(a: &FlexTensor, b: &FlexTensor) -> FlexTensor {
    let (a_matrices, b_matrices) = (Matrices::of(a), Matrices::of(b));
    let y = product(&a_matrices, &b_matrices, true);
    let mut shape = a.layout().shape().to_vec();
    let columns = shape.len() - 1;
    shape[columns] = b_matrices.dims[1];
    FlexTensor::from_data(TensorData::new(y, shape))
}

#[derive(Debug)]
struct MatmulBackward;

impl Backward<Flex, 2> for MatmulBackward {
    /// The two operands.
    type State = (FlexTensor, FlexTensor);

    /// Burn's matmul backward ([`operand_gradients`]).
    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [a_node, b_node] = ops.parents.map(|p| p.map(|p| p.id));
        let dy = grads.consume::<Flex>(&ops.node);
        let (a, b) = ops.state;
        let (da, db) = operand_gradients(&dy, &a, &b, [a_node.is_some(), b_node.is_some()]);
        register(grads, a_node, || {
            tensor_like(da.expect("computed for a"), &a)
        });
        register(grads, b_node, || {
            tensor_like(db.expect("computed for b"), &b)
        });
    }
}

// The heads' split and join.

/// [`swap_middle_dims`] on the CPU: reads `x` through its strides (whatever view it is), writes
/// the result contiguous.
fn swap_middle_flex(x: &FlexTensor) -> FlexTensor {
    let layout = x.layout();
    let [a, b, c, d] = layout.shape()[..] else {
        panic!("four dimensions")
    };
    let [s0, s1, s2, s3] = layout.strides()[..] else {
        panic!("four strides")
    };
    let (values, start) = (x.storage::<f32>(), layout.start_offset() as isize);
    // SAFETY: each row is `b` pieces of `d` elements, each piece written whole.
    let [y] = unsafe {
        new_rows(a * c, [b * d], |first, [y]| {
            for (row, y) in (first..).zip(y.chunks_exact_mut(b * d)) {
                let row_start = start + (row / c) as isize * s0 + (row % c) as isize * s2;
                for (j, y) in y.chunks_exact_mut(d).enumerate() {
                    let from = row_start + j as isize * s1;
                    if s3 == 1 {
                        y.write_copy_of_slice(&values[from as usize..][..d]);
                    } else {
                        for (l, y) in y.iter_mut().enumerate() {
                            y.write(values[(from + l as isize * s3) as usize]);
                        }
                    }
                }
            }
        })
    };
    FlexTensor::from_data(TensorData::new(y, [a, c, b, d]))
}

#[derive(Debug)]
struct SwapMiddleBackward;

impl Backward<Flex, 1> for SwapMiddleBackward {
    type State = ();

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [x] = ops.parents.map(|p| p.map(|p| p.id));
        let dy = grads.consume::<Flex>(&ops.node);
        register(grads, x, || swap_middle_flex(&dy));
    }
}
