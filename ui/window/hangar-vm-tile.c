/* HangarVmTile (hangar-vm-tile.h). */
#include "ui/window/hangar-vm-tile.h"

#include "ui/window/hangar-vm-actions.h"

struct _HangarVmTile {
	GtkBox parent_instance;

	GtkImage *thumbnail;
	GtkLabel *name_label;
	GtkLabel *state_label;
	GtkSpinner *spinner;
	GtkMenuButton *menu_button;

	HangarVm *vm;
};

G_DEFINE_TYPE(HangarVmTile, hangar_vm_tile, GTK_TYPE_BOX)

static void vm_tile_update(HangarVmTile *self)
{
	gtk_label_set_text(self->name_label, hangar_vm_get_name(self->vm));
	hangar_vm_actions_show_state(self->state_label, self->vm, TRUE);
	hangar_vm_actions_show_thumbnail(self->thumbnail, self->vm, 256, 192);
	gtk_widget_set_visible(GTK_WIDGET(self->spinner), hangar_vm_get_busy(self->vm));
	g_object_set(self->spinner, "active", hangar_vm_get_busy(self->vm), NULL);
}

HangarVmTile *hangar_vm_tile_new(HangarVm *vm)
{
	HangarVmTile *self = g_object_new(HANGAR_TYPE_VM_TILE, NULL);

	self->vm = g_object_ref(vm);
	hangar_vm_actions_install(GTK_WIDGET(self), vm);
	hangar_vm_actions_attach_menu(self->menu_button);
	g_signal_connect_object(vm, "notify", G_CALLBACK(vm_tile_update), self,
				G_CONNECT_SWAPPED);
	vm_tile_update(self);
	return self;
}

HangarVm *hangar_vm_tile_get_vm(HangarVmTile *self)
{
	return self->vm;
}

static void hangar_vm_tile_dispose(GObject *object)
{
	HangarVmTile *self = HANGAR_VM_TILE(object);

	g_clear_object(&self->vm);
	G_OBJECT_CLASS(hangar_vm_tile_parent_class)->dispose(object);
}

static void hangar_vm_tile_class_init(HangarVmTileClass *klass)
{
	GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

	G_OBJECT_CLASS(klass)->dispose = hangar_vm_tile_dispose;
	gtk_widget_class_set_template_from_resource(widget_class,
						    "/org/hangar/Hangar/ui/window/hangar-vm-tile.ui");
	gtk_widget_class_bind_template_child(widget_class, HangarVmTile, thumbnail);
	gtk_widget_class_bind_template_child(widget_class, HangarVmTile, name_label);
	gtk_widget_class_bind_template_child(widget_class, HangarVmTile, state_label);
	gtk_widget_class_bind_template_child(widget_class, HangarVmTile, spinner);
	gtk_widget_class_bind_template_child(widget_class, HangarVmTile, menu_button);
}

static void hangar_vm_tile_init(HangarVmTile *self)
{
	gtk_widget_init_template(GTK_WIDGET(self));
}
