/* curator-charts.c: see curator-charts.h. */
#include "curator-charts.h"

#include <math.h>

#define MARGIN 24.0
#define BAR_H 14.0
#define ROW_GAP 12.0
#define LABEL_W 120.0

struct _CuratorCharts
{
  GtkWindow parent_instance;

  /* children */
  GtkStack  *stack;
  GtkWidget *counts;
  GtkWidget *matrix;

  /* borrowed */
  CuratorSampleModel *model;
  gulong              counts_id;

  /* owned: the matrix as last drawn, for hit testing */
  guint  *cells;
  guint   n_classes;
  double  cell_px, origin_x, origin_y;
};

G_DEFINE_FINAL_TYPE (CuratorCharts, curator_charts, GTK_TYPE_WINDOW)

enum { SIGNAL_CELL_ACTIVATED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void
fg_colour (GtkWidget *widget, GdkRGBA *out)
{
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), out);
}

static PangoLayout *
text (GtkWidget *widget, const char *string, gboolean bold)
{
  PangoLayout *layout = gtk_widget_create_pango_layout (widget, string);

  if (bold)
    {
      PangoAttrList *attrs = pango_attr_list_new ();
      pango_attr_list_insert (attrs, pango_attr_weight_new (PANGO_WEIGHT_BOLD));
      pango_layout_set_attributes (layout, attrs);
      pango_attr_list_unref (attrs);
    }
  return layout;
}

static void
show_text (cairo_t *cr, PangoLayout *layout, double x, double y, double align_x, double align_y)
{
  int w, h;

  pango_layout_get_pixel_size (layout, &w, &h);
  cairo_move_to (cr, x - align_x * w, y - align_y * h);
  pango_cairo_show_layout (cr, layout);
}

/* ---- class counts --------------------------------------------------------- */

static void
draw_counts (GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer user_data)
{
  CuratorCharts *self = user_data;
  GtkWidget *widget = GTK_WIDGET (area);
  GPtrArray *classes = curator_sample_model_get_classes (self->model);
  GdkRGBA fg;
  gint64 max = 1;
  double bar_w = width - 2 * MARGIN - LABEL_W - 60.0;

  fg_colour (widget, &fg);
  for (guint i = 0; i < classes->len; i++)
    {
      const CuratorDbClass *klass = g_ptr_array_index (classes, i);
      max = MAX (max, MAX (klass->n_given, klass->n_current));
    }

  /* legend */
  {
    g_autoptr(PangoLayout) given = text (widget, "given", FALSE);
    g_autoptr(PangoLayout) now = text (widget, "now", FALSE);

    cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.35);
    cairo_rectangle (cr, MARGIN + LABEL_W, MARGIN - 2, 12, 12);
    cairo_fill (cr);
    gdk_cairo_set_source_rgba (cr, &fg);
    show_text (cr, given, MARGIN + LABEL_W + 18, MARGIN + 4, 0.0, 0.5);
    cairo_set_source_rgb (cr, 0.21, 0.52, 0.89);
    cairo_rectangle (cr, MARGIN + LABEL_W + 80, MARGIN - 2, 12, 12);
    cairo_fill (cr);
    gdk_cairo_set_source_rgba (cr, &fg);
    show_text (cr, now, MARGIN + LABEL_W + 98, MARGIN + 4, 0.0, 0.5);
  }

  for (guint i = 0; i < classes->len; i++)
    {
      const CuratorDbClass *klass = g_ptr_array_index (classes, i);
      double y = MARGIN + 28 + i * (2 * BAR_H + ROW_GAP);
      g_autoptr(PangoLayout) name = text (widget, klass->name, FALSE);
      g_autofree char *n_given = curator_format_count (klass->n_given);
      g_autofree char *n_now = curator_format_count (klass->n_current);
      g_autoptr(PangoLayout) given_text = text (widget, n_given, FALSE);
      g_autoptr(PangoLayout) now_text = text (widget, n_now, TRUE);
      double given_w = bar_w * klass->n_given / (double) max;
      double now_w = bar_w * klass->n_current / (double) max;

      pango_layout_set_width (name, (int) (LABEL_W - 12) * PANGO_SCALE);
      pango_layout_set_ellipsize (name, PANGO_ELLIPSIZE_END);
      gdk_cairo_set_source_rgba (cr, &fg);
      show_text (cr, name, MARGIN, y + BAR_H, 0.0, 0.5);

      cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.35);
      cairo_rectangle (cr, MARGIN + LABEL_W, y, given_w, BAR_H - 2);
      cairo_fill (cr);
      gdk_cairo_set_source_rgba (cr, &fg);
      show_text (cr, given_text, MARGIN + LABEL_W + given_w + 6, y + (BAR_H - 2) / 2, 0.0, 0.5);

      if (curator_sample_model_is_minority (self->model, klass->id))
        cairo_set_source_rgb (cr, 0.90, 0.38, 0.0);
      else
        cairo_set_source_rgb (cr, 0.21, 0.52, 0.89);
      cairo_rectangle (cr, MARGIN + LABEL_W, y + BAR_H, now_w, BAR_H - 2);
      cairo_fill (cr);
      gdk_cairo_set_source_rgba (cr, &fg);
      show_text (cr, now_text, MARGIN + LABEL_W + now_w + 6, y + BAR_H + (BAR_H - 2) / 2, 0.0, 0.5);
    }
}

/* ---- the noise matrix ------------------------------------------------------- */

static void
draw_matrix (GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer user_data)
{
  CuratorCharts *self = user_data;
  GtkWidget *widget = GTK_WIDGET (area);
  GPtrArray *classes = curator_sample_model_get_classes (self->model);
  guint n;
  GdkRGBA fg;
  double side;

  fg_colour (widget, &fg);
  g_free (self->cells);
  self->cells = curator_sample_model_count_pairs (self->model, &n);
  self->n_classes = n;
  if (n == 0)
    return;

  side = MIN (width - 2 * MARGIN - LABEL_W, height - 2 * MARGIN - LABEL_W);
  self->cell_px = MAX (12.0, floor (side / n));
  self->origin_x = MARGIN + LABEL_W;
  self->origin_y = MARGIN + LABEL_W;

  {
    g_autoptr(PangoLayout) rows = text (widget, "given ↓   believed →", TRUE);
    gdk_cairo_set_source_rgba (cr, &fg);
    show_text (cr, rows, MARGIN, MARGIN, 0.0, 0.0);
  }

  for (guint r = 0; r < n; r++)
    {
      const CuratorDbClass *klass = g_ptr_array_index (classes, r);
      g_autoptr(PangoLayout) row_name = text (widget, klass->name, FALSE);
      g_autoptr(PangoLayout) col_name = text (widget, klass->name, FALSE);
      guint row_total = 0;

      pango_layout_set_width (row_name, (int) (LABEL_W - 8) * PANGO_SCALE);
      pango_layout_set_ellipsize (row_name, PANGO_ELLIPSIZE_END);
      pango_layout_set_alignment (row_name, PANGO_ALIGN_RIGHT);
      gdk_cairo_set_source_rgba (cr, &fg);
      show_text (cr, row_name, self->origin_x - 8 - (LABEL_W - 8), self->origin_y + (r + 0.5) * self->cell_px, 0.0, 0.5);

      /* column names, rotated */
      cairo_save (cr);
      cairo_translate (cr, self->origin_x + (r + 0.5) * self->cell_px, self->origin_y - 8);
      cairo_rotate (cr, -G_PI / 3);
      pango_layout_set_width (col_name, (int) (LABEL_W - 8) * PANGO_SCALE);
      pango_layout_set_ellipsize (col_name, PANGO_ELLIPSIZE_END);
      show_text (cr, col_name, 0, 0, 0.0, 0.5);
      cairo_restore (cr);

      for (guint c = 0; c < n; c++)
        row_total += self->cells[r * n + c];
      for (guint c = 0; c < n; c++)
        {
          guint count = self->cells[r * n + c];
          double share = row_total > 0 ? (double) count / row_total : 0.0;
          double x = self->origin_x + c * self->cell_px, y = self->origin_y + r * self->cell_px;
          /* off the diagonal is noise: orange, stronger with the share;
           * the diagonal (labels the analysis agrees with) in blue */
          double t = r == c ? share : sqrt (MIN (1.0, share * 4.0));

          if (r == c)
            cairo_set_source_rgba (cr, 0.21, 0.52, 0.89, 0.15 + 0.6 * t);
          else
            cairo_set_source_rgba (cr, 0.90, 0.38, 0.0, count == 0 ? 0.04 : 0.12 + 0.85 * t);
          cairo_rectangle (cr, x + 1, y + 1, self->cell_px - 2, self->cell_px - 2);
          cairo_fill (cr);
          if (count > 0 && self->cell_px >= 28)
            {
              g_autofree char *label = g_strdup_printf ("%u", count);
              g_autoptr(PangoLayout) layout = text (widget, label, r != c);

              gdk_cairo_set_source_rgba (cr, &fg);
              show_text (cr, layout, x + self->cell_px / 2, y + self->cell_px / 2, 0.5, 0.5);
            }
        }
    }
}

static void
on_matrix_pressed (GtkGestureClick *gesture, int n_press, double x, double y, CuratorCharts *self)
{
  GPtrArray *classes = curator_sample_model_get_classes (self->model);
  int r, c;

  if (self->cells == NULL || self->cell_px <= 0 || self->n_classes != classes->len)
    return;
  c = (int) floor ((x - self->origin_x) / self->cell_px);
  r = (int) floor ((y - self->origin_y) / self->cell_px);
  if (r < 0 || c < 0 || r >= (int) self->n_classes || c >= (int) self->n_classes
      || self->cells[r * self->n_classes + c] == 0)
    return;
  g_signal_emit (self, signals[SIGNAL_CELL_ACTIVATED], 0,
                 ((CuratorDbClass *) g_ptr_array_index (classes, r))->id,
                 ((CuratorDbClass *) g_ptr_array_index (classes, c))->id);
}

/* Sizes follow the number of classes: bars keep their height, cells at least 12 px. */
static void
update_sizes (CuratorCharts *self)
{
  guint n = curator_sample_model_get_classes (self->model)->len;

  gtk_widget_set_size_request (self->counts, 360, (int) (2 * MARGIN + 28 + n * (2 * BAR_H + ROW_GAP)));
  gtk_widget_set_size_request (self->matrix, (int) (2 * MARGIN + LABEL_W + 12 * n),
                               (int) (2 * MARGIN + LABEL_W + 12 * n));
}

static void
on_counts_changed (CuratorSampleModel *model, CuratorCharts *self)
{
  update_sizes (self);
  gtk_widget_queue_draw (self->counts);
  gtk_widget_queue_draw (self->matrix);
}

void
curator_charts_show_matrix (CuratorCharts *self, gboolean matrix)
{
  g_return_if_fail (CURATOR_IS_CHARTS (self));
  gtk_stack_set_visible_child_name (self->stack, matrix ? "matrix" : "counts");
}

/* ---- GObject ---------------------------------------------------------------- */

static void
curator_charts_dispose (GObject *object)
{
  CuratorCharts *self = CURATOR_CHARTS (object);

  if (self->model != NULL)
    g_clear_signal_handler (&self->counts_id, self->model);
  self->model = NULL;
  g_clear_pointer (&self->cells, g_free);
  G_OBJECT_CLASS (curator_charts_parent_class)->dispose (object);
}

static void
curator_charts_class_init (CuratorChartsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = curator_charts_dispose;

  /* ::cell-activated (gint64 given class id, gint64 believed class id) */
  signals[SIGNAL_CELL_ACTIVATED] = g_signal_new ("cell-activated", G_TYPE_FROM_CLASS (klass),
                                                 G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                 G_TYPE_NONE, 2, G_TYPE_INT64, G_TYPE_INT64);
}

static GtkWidget *
scrolled (GtkWidget *child)
{
  GtkWidget *scroller = gtk_scrolled_window_new ();

  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroller), child);
  gtk_widget_set_vexpand (scroller, TRUE);
  return scroller;
}

static void
curator_charts_init (CuratorCharts *self)
{
  GtkWidget *header = gtk_header_bar_new ();
  GtkWidget *switcher = gtk_stack_switcher_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *hint = gtk_label_new ("Rows: the label the dataset gave. Columns: the label the analysis believes "
                                   "(its suggestion, else the given label). Click a cell to see its samples.");
  GtkGesture *click = gtk_gesture_click_new ();

  self->stack = GTK_STACK (gtk_stack_new ());
  gtk_stack_switcher_set_stack (GTK_STACK_SWITCHER (switcher), self->stack);
  gtk_header_bar_set_title_widget (GTK_HEADER_BAR (header), switcher);
  gtk_window_set_titlebar (GTK_WINDOW (self), header);
  gtk_window_set_title (GTK_WINDOW (self), "Charts");
  gtk_window_set_default_size (GTK_WINDOW (self), 720, 640);

  self->counts = gtk_drawing_area_new ();
  gtk_drawing_area_set_draw_func (GTK_DRAWING_AREA (self->counts), draw_counts, self, NULL);
  gtk_stack_add_titled (self->stack, scrolled (self->counts), "counts", "Class Counts");

  self->matrix = gtk_drawing_area_new ();
  gtk_widget_set_vexpand (self->matrix, TRUE);
  gtk_drawing_area_set_draw_func (GTK_DRAWING_AREA (self->matrix), draw_matrix, self, NULL);
  gtk_widget_set_cursor_from_name (self->matrix, "pointer");
  g_signal_connect (click, "pressed", G_CALLBACK (on_matrix_pressed), self);
  gtk_widget_add_controller (self->matrix, GTK_EVENT_CONTROLLER (click));
  gtk_label_set_wrap (GTK_LABEL (hint), TRUE);
  gtk_label_set_xalign (GTK_LABEL (hint), 0.0);
  gtk_widget_add_css_class (hint, "dim-label");
  gtk_widget_set_margin_start (hint, 24);
  gtk_widget_set_margin_end (hint, 24);
  gtk_widget_set_margin_top (hint, 12);
  gtk_box_append (GTK_BOX (box), hint);
  gtk_box_append (GTK_BOX (box), scrolled (self->matrix));
  gtk_stack_add_titled (self->stack, box, "matrix", "Noise Matrix");

  gtk_window_set_child (GTK_WINDOW (self), GTK_WIDGET (self->stack));
}

CuratorCharts *
curator_charts_new (GtkWindow *parent, CuratorSampleModel *model)
{
  CuratorCharts *self;

  g_return_val_if_fail (CURATOR_IS_SAMPLE_MODEL (model), NULL);

  self = g_object_new (CURATOR_TYPE_CHARTS, "transient-for", parent, "destroy-with-parent", TRUE, NULL);
  self->model = model;
  self->counts_id = g_signal_connect (model, "counts-changed", G_CALLBACK (on_counts_changed), self);
  update_sizes (self);
  return self;
}
