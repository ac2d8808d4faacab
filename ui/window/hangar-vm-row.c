/* HangarVmRow (hangar-vm-row.h). */
#include "ui/window/hangar-vm-row.h"

#include "ui/window/hangar-vm-actions.h"

struct _HangarVmRow {
	GtkListBoxRow parent_instance;

	GtkImage *thumbnail;
	GtkLabel *name_label;
	GtkLabel *state_label;
	GtkLabel *os_label;
	GtkWidget *start_button;	GtkSpinner *spinner;
	GtkMenuButton *menu_button;

	HangarVm *vm;
};

G_DEFINE_TYPE(HangarVmRow, hangar_vm_row, GTK_TYPE_LIST_BOX_ROW)

static void vm_row_update(HangarVmRow *self)
{
	gtk_label_set_text(self->name_label, hangar_vm_get_name(self->vm));
	hangar_vm_actions_show_state(self->state_label, self->vm, FALSE);
	hangar_vm_actions_show_thumbnail(self->thumbnail, self->vm, 64, 48);
	gtk_label_set_text(self->os_label, hangar_vm_get_os_name(self->vm));
	gtk_widget_set_visible(self->start_button, !hangar_vm_is_active(self->vm));	gtk_widget_set_visible(GTK_WIDGET(self->spinner), hangar_vm_get_busy(self->vm));
	g_object_set(self->spinner, "active", hangar_vm_get_busy(self->vm), NULL);
}

HangarVmRow *hangar_vm_row_new(HangarVm *vm)
{
	HangarVmRow *self = g_object_new(HANGAR_TYPE_VM_ROW, NULL);

	self->vm = g_object_ref(vm);
	hangar_vm_actions_install(GTK_WIDGET(self), vm);
	hangar_vm_actions_attach_menu(self->menu_button);
	g_signal_connect_object(vm, "notify", G_CALLBACK(vm_row_update), self,
				G_CONNECT_SWAPPED);
	vm_row_update(self);
	return self;
}

HangarVm *hangar_vm_row_get_vm(HangarVmRow *self)
{
	return self->vm;
}

static void hangar_vm_row_dispose(GObject *object)
{
	HangarVmRow *self = HANGAR_VM_ROW(object);

	g_clear_object(&self->vm);
	G_OBJECT_CLASS(hangar_vm_row_parent_class)->dispose(object);
}

static void hangar_vm_row_class_init(HangarVmRowClass *klass)
{
	GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

	G_OBJECT_CLASS(klass)->dispose = hangar_vm_row_dispose;
	gtk_widget_class_set_template_from_resource(widget_class,
						    "/org/hangar/Hangar/ui/window/hangar-vm-row.ui");
	gtk_widget_class_bind_template_child(widget_class, HangarVmRow, thumbnail);
	gtk_widget_class_bind_template_child(widget_class, HangarVmRow, name_label);
	gtk_widget_class_bind_template_child(widget_class, HangarVmRow, state_label);
	gtk_widget_class_bind_template_child(widget_class, HangarVmRow, os_label);
	gtk_widget_class_bind_template_child(widget_class, HangarVmRow, start_button);	gtk_widget_class_bind_template_child(widget_class, HangarVmRow, spinner);
	gtk_widget_class_bind_template_child(widget_class, HangarVmRow, menu_button);
}

static void hangar_vm_row_init(HangarVmRow *self)
{
	gtk_widget_init_template(GTK_WIDGET(self));
}
